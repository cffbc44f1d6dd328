package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// pidOf returns the process id of the plugin serving p.
func pidOf(t *testing.T, p store.Provider) int {
	t.Helper()
	pp, ok := p.(*pluginProvider)
	if !ok {
		t.Fatalf("provider is a %T", p)
	}
	cur := pp.sup.Load().current()
	if cur == nil {
		t.Fatal("no process")
	}
	rc := cur.client.ReattachConfig()
	if rc == nil {
		t.Fatal("no reattach config")
	}
	return rc.Pid
}

// TestCrashRestart kills a store plugin with SIGKILL while a writer is
// storing: the host survives; calls fail fast with ErrPluginUnavailable
// while the plugin is down; it is restarted with backoff; the stream and
// consumer handles the runtime holds work again; every acknowledged
// message and the consumer's state are intact.
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	log := newTestLogger()
	startHost(t, Config{
		Plugins:        []PluginConfig{{Name: "crashy", Path: binary(t, "segstore")}},
		Logger:         log,
		RestartMin:     50 * time.Millisecond,
		RestartMax:     time.Second,
		HealthInterval: 200 * time.Millisecond,
	})
	ctx := context.Background()
	p, err := store.NewProvider("store.crashy", store.ProviderConfig{Dir: t.TempDir(), Sync: store.SyncPolicy{Always: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "ORDERS", Meta: []byte(`{"name":"ORDERS"}`)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.OpenConsumer(ctx, "dur", []byte(`{"durable_name":"dur"}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 5; i++ {
		if err := c.UpdateDelivered(ctx, i, i, 1, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.UpdateAcks(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	wantCons, _ := c.State(ctx)

	// A writer stores batches the whole time and remembers what was
	// acknowledged.
	var mu sync.Mutex
	acked := map[uint64][]byte{}
	var unavailable int
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]store.NewMsg, 16)
			for i := range batch {
				batch[i] = store.NewMsg{Subject: fmt.Sprintf("orders.%d", i%4), Data: []byte(fmt.Sprintf("m-%d-%d", n, i))}
			}
			res, err := s.StoreBatch(ctx, batch)
			mu.Lock()
			if err != nil {
				if errors.Is(err, ErrPluginUnavailable) {
					unavailable++
				}
			} else {
				for i, r := range res {
					if r.Err == nil {
						acked[r.Seq] = batch[i].Data
					}
				}
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	waitFor(t, "some acknowledged writes", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 200
	})

	if err := syscall.Kill(pidOf(t, p), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// While it is down, calls fail fast and say why.
	sawDown := false
	for i := 0; i < 200 && !sawDown; i++ {
		start := time.Now()
		_, err := s.FastState(ctx)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a call took %v while the plugin was down", d)
		}
		if err != nil {
			if !errors.Is(err, ErrPluginUnavailable) || !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("error while down: %v", err)
			}
			sawDown = true
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !sawDown {
		t.Fatal("no call failed after the kill")
	}
	// It comes back, and the same handles work.
	waitFor(t, "the plugin to come back", 20*time.Second, func() bool {
		_, err := s.FastState(ctx)
		return err == nil
	})
	downFor := time.Since(killed)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitFor(t, "writes after the restart", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > before+50
	})
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	t.Logf("down for %v; %d messages acknowledged, %d batches refused while down", downFor.Round(time.Millisecond), len(acked), unavailable)
	for seq, data := range acked {
		m, err := s.Load(ctx, seq)
		if err != nil || !bytes.Equal(m.Data, data) {
			t.Fatalf("acknowledged message %d: %q, %v; want %q", seq, m.Data, err, data)
		}
	}
	got, err := c.State(ctx)
	if err != nil {
		t.Fatalf("consumer after restart: %v", err)
	}
	if got.Delivered != wantCons.Delivered || got.AckFloor != wantCons.AckFloor || len(got.Pending) != len(wantCons.Pending) {
		t.Fatalf("consumer state %+v, want %+v", got, wantCons)
	}
	if err := c.UpdateAcks(ctx, 2, 2); err != nil {
		t.Fatalf("consumer update after restart: %v", err)
	}
	if n := p.(*pluginProvider).restarts(); n < 1 {
		t.Fatalf("restarts = %d", n)
	}
	if !log.has("[WRN]", "crashy", "is down") || !log.has("[INF]", "crashy", "restarted") {
		t.Fatal("the crash and the restart were not logged")
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartBackoff keeps a plugin from starting after a crash: the
// restart attempts come further and further apart, up to the maximum, and
// the plugin is back as soon as it can start again.
func TestRestartBackoff(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	crashFile := filepath.Join(t.TempDir(), "crash")
	log := newTestLogger()
	startHost(t, Config{
		Plugins: []PluginConfig{{Name: "flaky", Path: binary(t, "storeplugin"),
			Env: map[string]string{"STOREPLUGIN_CRASH_FILE": crashFile}}},
		Logger:     log,
		RestartMin: 20 * time.Millisecond,
		RestartMax: 320 * time.Millisecond,
	})
	ctx := context.Background()
	p, err := store.NewProvider("store.flaky", store.ProviderConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := os.WriteFile(crashFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pidOf(t, p), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "six failed restarts", 20*time.Second, func() bool {
		return len(log.when("flaky", "restart attempt", "failed")) >= 6
	})
	if _, err := p.List(ctx); !errors.Is(err, ErrPluginUnavailable) {
		t.Fatalf("List while it cannot start: %v", err)
	}
	os.Remove(crashFile)
	waitFor(t, "the plugin to come back", 10*time.Second, func() bool {
		_, err := p.List(ctx)
		return err == nil
	})
	at := log.when("flaky", "restart attempt", "failed")
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	t.Logf("gaps between failed attempts: %v", gaps)
	// 20, 40, 80, 160, 320 ms plus start time: the later gaps must be well
	// above the first and none beyond the maximum plus a start.
	if gaps[3] < 3*gaps[0] || gaps[3] < 100*time.Millisecond {
		t.Fatalf("no backoff: %v", gaps)
	}
	for _, g := range gaps {
		if g > 320*time.Millisecond+3*time.Second {
			t.Fatalf("a gap beyond the maximum: %v", gaps)
		}
	}
}

// TestHungPlugin freezes a plugin (SIGSTOP): calls give up at the call
// timeout with ErrPluginUnavailable instead of hanging, the health check
// notices, and the frozen process is killed and replaced.
func TestHungPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	defer func(g time.Duration) { killGrace = g }(killGrace)
	killGrace = 500 * time.Millisecond
	log := newTestLogger()
	startHost(t, Config{
		Plugins:        []PluginConfig{{Name: "frozen", Path: binary(t, "segstore")}},
		Logger:         log,
		RestartMin:     50 * time.Millisecond,
		HealthInterval: 200 * time.Millisecond,
		CallTimeout:    500 * time.Millisecond,
	})
	ctx := context.Background()
	p, err := store.NewProvider("store.frozen", store.ProviderConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "S"})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, err := s.Store(ctx, "s", nil, []byte("before"), 0)
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, p)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	// kill(2) returns before the stop takes effect; wait until the kernel
	// reports the process stopped, or the plugin may still answer.
	waitFor(t, "the process to stop", 5*time.Second, func() bool { return processStopped(pid) })
	start := time.Now()
	_, err = s.Load(ctx, seq)
	if !errors.Is(err, ErrPluginUnavailable) || time.Since(start) > 2*time.Second {
		t.Fatalf("Load on a frozen plugin: %v after %v", err, time.Since(start))
	}
	waitFor(t, "a new process", 20*time.Second, func() bool {
		m, err := s.Load(ctx, seq)
		return err == nil && string(m.Data) == "before"
	})
	if !log.has("[WRN]", "frozen", "is down") {
		t.Fatal("the hang was not logged")
	}
}

// processStopped reports whether /proc says pid is stopped (state T).
func processStopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't')
}
