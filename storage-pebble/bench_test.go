package storagepebble

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

// BenchmarkStore runs the kit's store benchmarks (the same set as every
// backend) on a real directory, with sync before every acknowledgement
// (Hangar's default) and with interval syncing, and the memory store
// alongside for reference.
func BenchmarkStore(b *testing.B) {
	b.Run("pebble-sync-always", func(b *testing.B) { storetest.Bench(b, factory(store.SyncPolicy{Always: true})) })
	b.Run("pebble-sync-interval", func(b *testing.B) {
		storetest.Bench(b, factory(store.SyncPolicy{Interval: 100 * time.Millisecond}))
	})
	b.Run("memory", func(b *testing.B) {
		storetest.Bench(b, storetest.Factory{
			New: func(tb testing.TB, _ string) store.Provider {
				p, err := mem.New(store.ProviderConfig{})
				if err != nil {
					tb.Fatal(err)
				}
				return p
			},
			Storage: store.FileStorage,
		})
	})
}

// kvResult is what one KV child process measured.
type kvResult struct {
	Backend   string  `json:"backend"`
	Keys      int     `json:"keys"`
	LoadSec   float64 `json:"load_sec"`
	UpdateSec float64 `json:"update_sec"`
	LastP50us float64 `json:"last_p50_us"`
	LastP99us float64 `json:"last_p99_us"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	RSSMB     float64 `json:"rss_mb"`
	HeapMB    float64 `json:"heap_mb"`
	DiskMB    float64 `json:"disk_mb"`
}

// kvBackends are the configurations BenchmarkKVMillion compares; each runs
// in its own process so its peak RSS is its own.
var kvBackends = []struct{ name, params string }{
	{"pebble", ""},
	{"pebble-small-cache", `{"cache_size": 16777216, "memtable_size": 8388608}`},
	{"memory", ""},
}

// BenchmarkKVMillion stores one million distinct subjects with one message
// each (a KV bucket with max one message per subject), updates 200,000 of
// them at random, then times LoadLast on random keys, and reports the
// process's peak RSS (VmHWM) for the Pebble store at two cache sizes and
// for the memory store. It needs HANGAR_LONG=1 and takes a few minutes.
func BenchmarkKVMillion(b *testing.B) {
	if !long() {
		b.Skip("set HANGAR_LONG=1 for the million-subject benchmark")
	}
	keys := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("HANGAR_KV_KEYS")); err == nil && n > 0 {
		keys = n
	}
	for _, be := range kvBackends {
		b.Run(be.name, func(b *testing.B) {
			res := runKVChild(b, be.name, be.params, keys)
			b.ReportMetric(res.LastP50us, "µs-last-p50")
			b.ReportMetric(res.LastP99us, "µs-last-p99")
			b.ReportMetric(res.PeakRSSMB, "MB-peak-rss")
			b.ReportMetric(res.LoadSec, "s-load")
			b.ReportMetric(0, "ns/op")
			b.Logf("%+v", res)
		})
	}
}

func runKVChild(b *testing.B, backend, params string, keys int) kvResult {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKVChild$", "-test.v")
	cmd.Env = append(os.Environ(), "HANGAR_KV_CHILD="+backend, "HANGAR_KV_PARAMS="+params,
		"HANGAR_KV_DIR="+dir, fmt.Sprintf("HANGAR_KV_KEYS=%d", keys))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child %s: %v\n%s", backend, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "KVRESULT "); ok {
			var res kvResult
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				b.Fatal(err)
			}
			return res
		}
	}
	b.Fatalf("child %s printed no result:\n%s", backend, out)
	return kvResult{}
}

// TestKVChild is BenchmarkKVMillion's child process; it does nothing unless
// HANGAR_KV_CHILD names a backend.
func TestKVChild(t *testing.T) {
	backend := os.Getenv("HANGAR_KV_CHILD")
	if backend == "" {
		t.Skip("run by BenchmarkKVMillion")
	}
	keys, _ := strconv.Atoi(os.Getenv("HANGAR_KV_KEYS"))
	dir := os.Getenv("HANGAR_KV_DIR")
	var (
		p   store.Provider
		err error
	)
	if backend == "memory" {
		p, err = mem.New(store.ProviderConfig{})
	} else {
		p, err = New(store.ProviderConfig{Dir: dir, Sync: store.SyncPolicy{Always: true},
			Params: []byte(os.Getenv("HANGAR_KV_PARAMS"))})
	}
	must(t, err)
	defer func() { _ = p.Close(ctx) }()
	s, err := p.Open(ctx, store.StreamConfig{Name: "KV_bench", MaxMsgsPerSubject: 1, Storage: store.FileStorage})
	must(t, err)
	key := func(i int) string { return fmt.Sprintf("$KV.bench.key.%07d", i) }
	value := bytes.Repeat([]byte("v"), 100)
	res := kvResult{Backend: backend, Keys: keys}

	start := time.Now()
	batch := make([]store.NewMsg, 0, 256)
	for i := 0; i < keys; {
		batch = batch[:0]
		for ; len(batch) < cap(batch) && i < keys; i++ {
			batch = append(batch, store.NewMsg{Subject: key(i), Data: value})
		}
		_, err := s.StoreBatch(ctx, batch)
		must(t, err)
	}
	res.LoadSec = time.Since(start).Seconds()

	rng := rand.New(rand.NewPCG(1, 1))
	start = time.Now()
	for range keys / 5 / 256 {
		batch = batch[:0]
		for range 256 {
			batch = append(batch, store.NewMsg{Subject: key(rng.IntN(keys)), Data: value})
		}
		_, err := s.StoreBatch(ctx, batch)
		must(t, err)
	}
	res.UpdateSec = time.Since(start).Seconds()
	st, err := s.FastState(ctx)
	must(t, err)
	if st.NumSubjects != uint64(keys) || st.Msgs != uint64(keys) {
		t.Fatalf("state %+v for %d keys", st, keys)
	}

	const lookups = 100_000
	lat := make([]time.Duration, lookups)
	for i := range lat {
		k := key(rng.IntN(keys))
		t0 := time.Now()
		m, err := s.LoadLast(ctx, k)
		lat[i] = time.Since(t0)
		if err != nil || m.Subject != k {
			t.Fatalf("LoadLast(%s) = %q, %v", k, m.Subject, err)
		}
	}
	slices.Sort(lat)
	res.LastP50us = float64(lat[lookups/2].Nanoseconds()) / 1e3
	res.LastP99us = float64(lat[lookups*99/100].Nanoseconds()) / 1e3

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	res.PeakRSSMB, res.RSSMB = procStatus("VmHWM:"), procStatus("VmRSS:")
	if backend != "memory" {
		res.DiskMB = float64(dirSize(dir)) / (1 << 20)
	}
	line, _ := json.Marshal(res)
	fmt.Printf("KVRESULT %s\n", line)
}

// procStatus reads a kB figure from /proc/self/status, in MiB.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			n += info.Size()
		}
	}
	return n
}
