package loadgen

import (
	"strconv"
)

// The machine every target pretends to be: a 16-CPU server with NVMe
// disks, a few file systems and network interfaces, as node_exporter
// would describe it with its default collectors.
var (
	cpuModes = []struct {
		mode string
		rate float64 // CPU seconds per 10 s tick
		p    float64
	}{
		{"idle", 8, 1}, {"iowait", 0.05, 0.6}, {"irq", 0.01, 0.3}, {"nice", 0, 0},
		{"softirq", 0.05, 0.7}, {"steal", 0, 0}, {"system", 0.4, 1}, {"user", 1.2, 1},
	}
	mounts = [][3]string{ // device, fstype, mountpoint
		{"/dev/nvme0n1p2", "ext4", "/"}, {"/dev/nvme0n1p1", "vfat", "/boot/efi"},
		{"tmpfs", "tmpfs", "/run"}, {"tmpfs", "tmpfs", "/dev/shm"},
		{"/dev/nvme1n1", "xfs", "/var/lib/docker"}, {"tmpfs", "tmpfs", "/run/user/1000"},
	}
	netDevices  = []string{"eth0", "eth1", "lo", "docker0", "veth3f2a1c9", "wlan0"}
	diskDevices = []string{"nvme0n1", "nvme1n1", "sda", "dm-0"}
	collectors  = []string{
		"arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats", "dmi", "edac",
		"entropy", "fibrechannel", "filefd", "filesystem", "hwmon", "infiniband", "ipvs", "loadavg", "mdadm", "meminfo",
		"netclass", "netdev", "netstat", "nfs", "nfsd", "nvme", "os", "powersupplyclass", "pressure", "rapl",
		"schedstat", "selinux", "sockstat", "softnet", "stat", "tapestats", "textfile", "thermal_zone", "time", "timex",
	}
)

const numCPU = 16

// NewLayout returns the layout of a target exposing exactly n series. The
// families come in priority order (the summary and a histogram first, so
// small layouts keep them); a family is included whole or not at all, and
// node_interrupts_total, which on a real machine has hundreds of series,
// fills the rest.
func NewLayout(n int) *Layout {
	l := &Layout{}
	for _, s := range catalogue() {
		l.add(s, n)
	}
	l.fillInterrupts(n)
	return l
}

// catalogue returns node_exporter's families (and the Go runtime's), as
// specs. Rates are per 10 s tick.
func catalogue() []spec {
	one := func(k kind, rate, p, init float64) []member {
		return []member{{kind: k, rate: rate, p: p, init: init}}
	}
	var specs []spec
	add := func(name, typ, help string, ms []member) {
		specs = append(specs, spec{name: name, typ: typ, help: help, members: ms})
	}
	specs = append(specs, spec{
		name: "go_gc_duration_seconds", typ: "summary",
		help:    "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
		members: one(kindSummary, 2, 1, 0.0002), bounds: []float64{0, 0.25, 0.5, 0.75, 1},
	})
	specs = append(specs, spec{
		name: "http_request_duration_seconds", typ: "histogram",
		help: "Latency of HTTP requests served by the exporter.",
		members: []member{
			{labels: []Label{{"handler", "/metrics"}, {"method", "GET"}}, rate: 1, p: 1, init: 0.08},
			{labels: []Label{{"handler", "/"}, {"method", "GET"}}, rate: 0.2, p: 0.2, init: 0.002},
		},
		bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	})
	add("go_goroutines", "gauge", "Number of goroutines that currently exist.", one(kindGauge, 3, 0.5, 9))
	add("go_threads", "gauge", "Number of OS threads created.", one(kindConst, 0, 0, 12))
	add("go_memstats_alloc_bytes", "gauge", "Number of bytes allocated and still in use.", one(kindGauge, 1<<20, 1, 4<<20))
	add("go_memstats_alloc_bytes_total", "counter", "Total number of bytes allocated, even if freed.", one(kindCounter, 8<<20, 1, 1<<30))
	add("go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.", one(kindGauge, 1<<19, 1, 6<<20))
	add("go_memstats_mallocs_total", "counter", "Total number of mallocs.", one(kindCounter, 60000, 1, 2e7))
	add("go_memstats_frees_total", "counter", "Total number of frees.", one(kindCounter, 60000, 1, 2e7))
	add("go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system.", one(kindConst, 0, 0, 24<<20))
	add("go_info", "gauge", "Information about the Go environment.", []member{{labels: []Label{{"version", "go1.23.4"}}, kind: kindConst, init: 1}})
	add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", one(kindSeconds, 0.2, 1, 3000))
	add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", one(kindGauge, 1<<18, 1, 24<<20))
	add("process_open_fds", "gauge", "Number of open file descriptors.", one(kindGauge, 1, 0.3, 10))
	add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", one(kindConst, 0, 0, 1.7e9))
	for _, n := range []string{"1", "5", "15"} {
		add("node_load"+n, "gauge", n+"m load average.", one(kindGaugeFloat, 0.3, 1, 2))
	}
	add("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", one(kindConst, 0, 0, 1.7e9))
	add("node_time_seconds", "gauge", "System time in seconds since epoch (1970).", one(kindClock, 0, 1, 0))
	add("node_context_switches_total", "counter", "Total number of context switches.", one(kindCounter, 80000, 1, 5e9))
	add("node_intr_total", "counter", "Total number of interrupts serviced.", one(kindCounter, 60000, 1, 3e9))
	add("node_forks_total", "counter", "Total number of forks.", one(kindCounter, 40, 1, 5e6))
	add("node_procs_running", "gauge", "Number of processes in runnable state.", one(kindGauge, 2, 1, 3))
	add("node_procs_blocked", "gauge", "Number of processes blocked waiting for I/O to complete.", one(kindGauge, 1, 0.2, 1))
	add("node_entropy_available_bits", "gauge", "Bits of available entropy.", one(kindConst, 0, 0, 256))

	var cpu, guest []member
	for c := range numCPU {
		for _, m := range cpuModes {
			k := kindSeconds
			if m.p == 0 {
				k = kindConst
			}
			cpu = append(cpu, member{labels: []Label{{"cpu", strconv.Itoa(c)}, {"mode", m.mode}}, kind: k, rate: m.rate, p: m.p, init: 1e5 * (m.rate + 0.01)})
		}
		for _, m := range []string{"nice", "user"} {
			guest = append(guest, member{labels: []Label{{"cpu", strconv.Itoa(c)}, {"mode", m}}, kind: kindConst})
		}
	}
	add("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", cpu)
	add("node_cpu_guest_seconds_total", "counter", "Seconds the CPUs spent in guests (VMs) for each mode.", guest)
	specs = append(specs, memorySpecs()...)
	specs = append(specs, filesystemSpecs()...)
	specs = append(specs, networkSpecs()...)
	specs = append(specs, diskSpecs()...)
	specs = append(specs, miscSpecs()...)
	return specs
}

func memorySpecs() []spec {
	var specs []spec
	// name, moves (a gauge that changes), magnitude
	for _, m := range []struct {
		name  string
		moves bool
		init  float64
	}{
		{"Active", true, 8e9}, {"Active_anon", true, 5e9}, {"Active_file", true, 3e9}, {"AnonHugePages", false, 2e8},
		{"AnonPages", true, 5e9}, {"Bounce", false, 0}, {"Buffers", true, 4e8}, {"Cached", true, 1.2e10},
		{"CommitLimit", false, 3.3e10}, {"Committed_AS", true, 1.5e10}, {"DirectMap1G", false, 5.4e10}, {"DirectMap2M", false, 1.2e10},
		{"DirectMap4k", false, 6e8}, {"Dirty", true, 2e6}, {"HardwareCorrupted", false, 0}, {"HugePages_Free", false, 0},
		{"HugePages_Rsvd", false, 0}, {"HugePages_Surp", false, 0}, {"HugePages_Total", false, 0}, {"Hugepagesize", false, 2097152},
		{"Inactive", true, 1e10}, {"Inactive_anon", true, 1e9}, {"Inactive_file", true, 9e9}, {"KernelStack", true, 2e7},
		{"Mapped", true, 1e9}, {"MemAvailable", true, 4e10}, {"MemFree", true, 3e10}, {"MemTotal", false, 6.6e10},
		{"Mlocked", false, 0}, {"NFS_Unstable", false, 0}, {"PageTables", true, 8e7}, {"Percpu", false, 3e7},
		{"SReclaimable", true, 1e9}, {"SUnreclaim", true, 3e8}, {"Shmem", true, 1e8}, {"ShmemHugePages", false, 0},
		{"ShmemPmdMapped", false, 0}, {"Slab", true, 1.3e9}, {"SwapCached", false, 0}, {"SwapFree", false, 0},
		{"SwapTotal", false, 0}, {"Unevictable", false, 0}, {"VmallocChunk", false, 0}, {"VmallocTotal", false, 3.5e13},
		{"VmallocUsed", true, 1e8}, {"Writeback", false, 0}, {"WritebackTmp", false, 0},
	} {
		k, p := kindConst, 0.0
		if m.moves {
			k, p = kindGauge, 0.8
		}
		name := "node_memory_" + m.name + "_bytes"
		specs = append(specs, spec{name: name, typ: "gauge", help: "Memory information field " + m.name + "_bytes.",
			members: []member{{kind: k, rate: 4096 * 64, p: p, init: m.init}}})
	}
	return specs
}

// across returns a family with one member per label set, all evolving
// alike.
func across(sets [][]Label, name, typ, help string, k kind, rate, p, init float64) spec {
	s := spec{name: name, typ: typ, help: help}
	for _, ls := range sets {
		s.members = append(s.members, member{labels: ls, kind: k, rate: rate, p: p, init: init})
	}
	return s
}

// oneLabel returns the label sets {name=v} for each of values.
func oneLabel(name string, values ...string) [][]Label {
	sets := make([][]Label, len(values))
	for i, v := range values {
		sets[i] = []Label{{name, v}}
	}
	return sets
}

func cpuLabels() [][]Label {
	cpus := make([]string, numCPU)
	for c := range cpus {
		cpus[c] = strconv.Itoa(c)
	}
	return oneLabel("cpu", cpus...)
}

func filesystemSpecs() []spec {
	var sets [][]Label
	for _, m := range mounts {
		sets = append(sets, []Label{{"device", m[0]}, {"fstype", m[1]}, {"mountpoint", m[2]}})
	}
	fam := func(name, help string, k kind, rate, p, init float64) spec {
		return across(sets, "node_filesystem_"+name, "gauge", help, k, rate, p, init)
	}
	return []spec{
		fam("avail_bytes", "Filesystem space available to non-root users in bytes.", kindGauge, 4096*16, 0.5, 2e11),
		fam("device_error", "Whether an error occurred while getting statistics for the given device.", kindConst, 0, 0, 0),
		fam("files", "Filesystem total file nodes.", kindConst, 0, 0, 3e7),
		fam("files_free", "Filesystem total free file nodes.", kindGauge, 20, 0.3, 2.5e7),
		fam("free_bytes", "Filesystem free space in bytes.", kindGauge, 4096*16, 0.5, 2.2e11),
		fam("readonly", "Filesystem read-only status.", kindConst, 0, 0, 0),
		fam("size_bytes", "Filesystem size in bytes.", kindConst, 0, 0, 5e11),
	}
}

func networkSpecs() []spec {
	fam := func(name, typ, help string, k kind, rate, p, init float64) spec {
		s := across(oneLabel("device", netDevices...), "node_network_"+name, typ, help, k, rate, p, init)
		// Only the first interfaces carry traffic; the others barely move.
		for i := 2; i < len(s.members); i++ {
			s.members[i].rate, s.members[i].p = rate/100, p/4
		}
		return s
	}
	var specs []spec
	for _, dir := range []string{"receive", "transmit"} {
		specs = append(specs,
			fam(dir+"_bytes_total", "counter", "Network device statistic "+dir+"_bytes.", kindCounter, 5e7, 1, 1e12),
			fam(dir+"_packets_total", "counter", "Network device statistic "+dir+"_packets.", kindCounter, 5e4, 1, 1e9),
			fam(dir+"_errs_total", "counter", "Network device statistic "+dir+"_errs.", kindCounter, 1, 0.02, 10),
			fam(dir+"_drop_total", "counter", "Network device statistic "+dir+"_drop.", kindCounter, 2, 0.05, 100),
		)
	}
	specs = append(specs,
		fam("receive_multicast_total", "counter", "Network device statistic receive_multicast.", kindCounter, 5, 0.3, 1e5),
		fam("up", "gauge", "Value is 1 if operstate is 'up', 0 otherwise.", kindConst, 0, 0, 1),
		fam("mtu_bytes", "gauge", "Network device property: mtu_bytes.", kindConst, 0, 0, 1500),
		fam("speed_bytes", "gauge", "Network device property: speed_bytes.", kindConst, 0, 0, 1.25e9),
	)
	return specs
}

func diskSpecs() []spec {
	fam := func(name, typ, help string, k kind, rate, p, init float64) spec {
		return across(oneLabel("device", diskDevices...), "node_disk_"+name, typ, help, k, rate, p, init)
	}
	return []spec{
		fam("reads_completed_total", "counter", "The total number of reads completed successfully.", kindCounter, 300, 0.9, 1e8),
		fam("writes_completed_total", "counter", "The total number of writes completed successfully.", kindCounter, 800, 1, 3e8),
		fam("read_bytes_total", "counter", "The total number of bytes read successfully.", kindCounter, 4096*300, 0.9, 1e12),
		fam("written_bytes_total", "counter", "The total number of bytes written successfully.", kindCounter, 4096*800, 1, 3e12),
		fam("read_time_seconds_total", "counter", "The total number of seconds spent by all reads.", kindSeconds, 0.1, 0.9, 5e4),
		fam("write_time_seconds_total", "counter", "This is the total number of seconds spent by all writes.", kindSeconds, 0.5, 1, 2e5),
		fam("io_time_seconds_total", "counter", "Total seconds spent doing I/Os.", kindSeconds, 0.4, 1, 1e5),
		fam("io_time_weighted_seconds_total", "counter", "The weighted # of seconds spent doing I/Os.", kindSeconds, 0.6, 1, 3e5),
		fam("io_now", "gauge", "The number of I/Os currently in progress.", kindGauge, 2, 0.5, 1),
		fam("discards_completed_total", "counter", "The total number of discards completed successfully.", kindCounter, 5, 0.1, 1e5),
		fam("flush_requests_total", "counter", "The total number of flush requests completed successfully.", kindCounter, 20, 0.8, 1e7),
	}
}

func miscSpecs() []spec {
	cpus := cpuLabels()
	perCPU := func(name, typ, help string, k kind, rate, p, init float64) spec {
		return across(cpus, name, typ, help, k, rate, p, init)
	}
	perCollector := func(name, help string, k kind, rate, p, init float64) spec {
		return across(oneLabel("collector", collectors...), name, "gauge", help, k, rate, p, init)
	}
	hwmon := spec{name: "node_hwmon_temp_celsius", typ: "gauge", help: "Hardware monitor for temperature (input)"}
	for i := range 8 {
		chip, sensor := "platform_coretemp_0", "temp"+strconv.Itoa(i+1)
		if i >= 6 {
			chip, sensor = "nvme_nvme"+strconv.Itoa(i-6), "temp1"
		}
		hwmon.members = append(hwmon.members, member{labels: []Label{{"chip", chip}, {"sensor", sensor}}, kind: kindGaugeFloat, rate: 1, p: 0.7, init: 45})
	}
	specs := []spec{
		hwmon,
		perCPU("node_softnet_processed_total", "counter", "Number of processed packets.", kindCounter, 3000, 1, 1e9),
		perCPU("node_softnet_dropped_total", "counter", "Number of dropped packets.", kindConst, 0, 0, 0),
		perCPU("node_softnet_times_squeezed_total", "counter", "Number of times processing packets ran out of quota.", kindCounter, 1, 0.05, 1e4),
		perCPU("node_schedstat_running_seconds_total", "counter", "Number of seconds CPU spent running a process.", kindSeconds, 1.6, 1, 3e5),
		perCPU("node_schedstat_waiting_seconds_total", "counter", "Number of seconds spent by processing waiting for this CPU.", kindSeconds, 0.1, 1, 2e4),
		perCPU("node_schedstat_timeslices_total", "counter", "Number of timeslices executed by CPU.", kindCounter, 5000, 1, 1e10),
		perCollector("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.", kindGaugeFloat, 0.002, 1, 0.01),
		perCollector("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", kindConst, 0, 0, 1),
	}
	for _, v := range []struct {
		name string
		rate float64
		p    float64
	}{
		{"pgfault", 50000, 1}, {"pgmajfault", 5, 0.3}, {"pgpgin", 3000, 0.9}, {"pgpgout", 8000, 1},
		{"pswpin", 0, 0}, {"pswpout", 0, 0}, {"oom_kill", 0, 0},
	} {
		k := kindCounter
		if v.p == 0 {
			k = kindConst
		}
		specs = append(specs, spec{name: "node_vmstat_" + v.name, typ: "untyped", help: "/proc/vmstat information field " + v.name + ".",
			members: []member{{kind: k, rate: v.rate, p: v.p, init: 1e8}}})
	}
	for _, v := range []struct {
		name string
		k    kind
		rate float64
		p    float64
	}{
		{"Tcp_ActiveOpens", kindCounter, 30, 1}, {"Tcp_PassiveOpens", kindCounter, 60, 1}, {"Tcp_CurrEstab", kindGauge, 5, 0.8},
		{"Tcp_InSegs", kindCounter, 40000, 1}, {"Tcp_OutSegs", kindCounter, 45000, 1}, {"Tcp_RetransSegs", kindCounter, 20, 0.7},
		{"Udp_InDatagrams", kindCounter, 200, 1}, {"Udp_OutDatagrams", kindCounter, 200, 1}, {"Udp_InErrors", kindConst, 0, 0},
		{"TcpExt_ListenDrops", kindConst, 0, 0}, {"TcpExt_SyncookiesSent", kindConst, 0, 0}, {"Icmp_InMsgs", kindCounter, 2, 0.4},
	} {
		specs = append(specs, spec{name: "node_netstat_" + v.name, typ: "untyped", help: "Statistic " + v.name + ".",
			members: []member{{kind: v.k, rate: v.rate, p: v.p, init: 1e7}}})
	}
	return specs
}

// The named interrupts of /proc/interrupts: one series per CPU each. The
// first ones fire on every CPU all the time; the rest stay at their count.
var namedInterrupts = []struct{ name, info string }{
	{"LOC", "Local timer interrupts"}, {"RES", "Rescheduling interrupts"}, {"CAL", "Function call interrupts"},
	{"TLB", "TLB shootdowns"}, {"IWI", "IRQ work interrupts"}, {"NMI", "Non-maskable interrupts"},
	{"PMI", "Performance monitoring interrupts"}, {"SPU", "Spurious interrupts"}, {"THR", "Threshold APIC interrupts"},
	{"DFR", "Deferred Error APIC interrupts"}, {"MCE", "Machine check exceptions"}, {"MCP", "Machine check polls"},
	{"ERR", ""}, {"MIS", ""}, {"PIN", "Posted-interrupt notification event"}, {"NPI", "Nested posted-interrupt event"},
	{"PIW", "Posted-interrupt wakeup event"},
}

const movingNamedInterrupts = 5

// fillInterrupts adds node_interrupts_total series until the layout has n:
// the named interrupts, then numbered IRQs of NVMe queues and network
// cards, one series per CPU each.
func (l *Layout) fillInterrupts(n int) {
	left := n - len(l.names)
	if left <= 0 {
		return
	}
	s := spec{name: "node_interrupts_total", typ: "counter", help: "Interrupt details."}
	for i := 0; len(s.members) < left; i++ {
		cpu, row := i%numCPU, i/numCPU
		m := member{kind: kindConst, init: 1e6}
		if row < len(namedInterrupts) {
			ni := namedInterrupts[row]
			m.labels = []Label{{"cpu", strconv.Itoa(cpu)}, {"devices", ""}, {"info", ni.info}, {"type", ni.name}}
			if row < movingNamedInterrupts {
				m.kind, m.rate, m.p = kindCounter, 3000, 1
			}
			s.members = append(s.members, m)
			continue
		}
		irq := row - len(namedInterrupts)
		dev := "nvme0q" + strconv.Itoa(irq%numCPU)
		if irq%3 == 1 {
			dev = "eth0-TxRx-" + strconv.Itoa(irq%8)
		}
		// Queue interrupts fire on the CPU they are pinned to; others rarely.
		switch {
		case cpu == irq%numCPU:
			m.kind, m.rate, m.p = kindCounter, 2000, 1
		case i%5 == 0:
			m.kind, m.rate, m.p = kindCounter, 2, 0.2
		}
		m.labels = []Label{{"cpu", strconv.Itoa(cpu)}, {"devices", dev}, {"info", "PCI-MSI"}, {"type", strconv.Itoa(24 + irq)}}
		s.members = append(s.members, m)
	}
	l.add(s, n)
}
