# SPDX-License-Identifier: GPL-2.0
#
# page_pool_zc: top-level entry points. See README.md.
#
#   make demo     build what is stale, boot the VM, show XDP counting frames
#   make test     build what is stale, boot the VM, run every selftest,
#                 and the short fault-injection and fuzzing runs
#   make reliability  debug kernel, vIOMMU, fault injection, dirty log,
#                 netlink fuzzing and a 30-minute soak, as a table
#   make mutants  the kernel with one deliberate bug at a time, each run
#                 against the tests that must catch it (MUTANTS=NAME...)
#   make kernel   (re)build the kernel; FLAVOUR=debug for the debug config
#   make tree     git work tree of the patched kernel for development
#   make export   write that work tree back to linux/ and patches/
#   make check    checkpatch --strict, kernel-doc and W=1 on the series
#   make bench-provider  provider vs stock page_pool cost, under -icount
#   make bench-datapath  instructions per frame into a VM, four paths

FLAVOUR	?= base
BUILD	:= build
OBJ	:= $(BUILD)/obj-$(FLAVOUR)
TREE	?= $(BUILD)/tree
VMFLAGS	?=

all: kernel bpf

deps:
	@scripts/install-deps.sh

kernel: deps
	@scripts/kernel-build.sh $(FLAVOUR)

bpf: kernel
	@$(MAKE) -s -C bpf OUT=$(CURDIR)/$(BUILD)/bpf \
		KHDR=$(CURDIR)/$(OBJ)/usr/include KSRC=$(CURDIR)/$(BUILD)/linux

kernel-debug: deps
	@scripts/kernel-build.sh debug

test: all
	@scripts/run-tests.sh $(FLAVOUR) $(VMFLAGS)

reliability: all kernel-debug
	@scripts/reliability.sh

mutants: all
	@scripts/mutants.sh $(MUTANTS)

demo: all
	@scripts/vm-run.sh --flavour $(FLAVOUR) $(VMFLAGS) -- selftests/vm/demo.sh

bench-provider: all
	@scripts/vm-run.sh --flavour $(FLAVOUR) --icount $(VMFLAGS) -- bench/provider.sh

bench-datapath: all
	@bench/datapath.sh $(FLAVOUR)

tree: deps
	@scripts/kernel-tree.sh $(TREE)

export:
	@scripts/kernel-export.sh $(TREE)

check: deps
	@scripts/check-patches.sh

clean:
	rm -rf $(BUILD)/obj-* $(BUILD)/bpf $(BUILD)/vm

distclean:
	rm -rf $(BUILD)

.PHONY: all deps kernel kernel-debug bpf test reliability mutants demo bench-provider bench-datapath tree export check clean distclean
