#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The series passes the review checks of scripts/check-patches.sh:
# checkpatch --strict, kernel-doc, W=1 on the new files.

. "$(dirname "$0")/../lib.sh"

check "checkpatch --strict, kernel-doc, W=1 clean" "$ZC_ROOT/scripts/check-patches.sh"
