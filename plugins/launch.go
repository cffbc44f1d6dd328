package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/plugins/adapter"
	apiv1 "github.com/hangar-mq/hangar/proto/api/v1"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// launcher starts processes of one plugin binary.
type launcher struct {
	pc  PluginConfig
	cfg *Config
}

// proc is one running plugin process.
type proc struct {
	client  *plugin.Client
	rpc     *plugin.GRPCClient
	conn    *grpc.ClientConn
	started time.Time
}

// kill stops the process: gracefully (go-plugin asks it to shut down and
// waits two seconds, then kills it) and, should even that hang (a process
// too frozen to answer the shutdown request), by force after a while.
func (p *proc) kill() {
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(killGrace):
	}
	if rc := p.client.ReattachConfig(); rc != nil && rc.Pid > 0 {
		if pr, err := os.FindProcess(rc.Pid); err == nil {
			_ = pr.Kill()
		}
	}
	select {
	case <-done:
	case <-time.After(killGrace):
	}
}

// killGrace bounds each stage of kill (a variable for tests).
var killGrace = 5 * time.Second

func (p *proc) exited() bool { return p.client.Exited() }

// ping checks the process answers its health service.
func (p *proc) ping(ctx context.Context, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- p.rpc.Ping() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return errors.New("health check timed out")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// family returns the connection to the process's Family service.
func (p *proc) family() (*adapter.FamilyConn, error) {
	raw, err := p.rpc.Dispense(adapter.FamilyPluginName)
	if err != nil {
		return nil, err
	}
	return raw.(*adapter.FamilyConn), nil
}

// launch starts a process with extra environment entries, completes the
// handshake and returns it. Errors say what went wrong in the plugin's
// terms: a protocol version mismatch, a checksum, a binary that is not a
// Hangar plugin.
func (l *launcher) launch(extraEnv []string) (*proc, error) {
	pc := l.pc
	sum, err := pc.checksum()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(pc.Path, pc.Args...)
	// The plugin's own settings must win over the server's environment,
	// and exec keeps the last of duplicate keys: so the host environment
	// goes first and go-plugin is told not to append it again.
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s", adapter.EnvLogLevel, "info"))
	for k, v := range pc.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	tail := &tailWriter{}
	out := &lineWriter{emit: func(s string) { l.cfg.Logger.Noticef("[plugin %s] %s", pc.Name, s) }}
	cc := &plugin.ClientConfig{
		HandshakeConfig:  adapter.Handshake,
		Plugins:          adapter.HostPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           newHclog(l.cfg.Logger, pc.Name, filepath.Base(pc.Path)),
		Stderr:           tail,
		SyncStdout:       out,
		SyncStderr:       out,
		StartTimeout:     l.cfg.StartTimeout,
	}
	if sum != nil {
		cc.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(cc)
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, l.startErr(err, sum, tail)
	}
	g, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("%w: plugin %q does not speak gRPC", ErrIncompatible, pc.Name)
	}
	return &proc{client: client, rpc: g, conn: g.Conn, started: time.Now()}, nil
}

var offeredRE = regexp.MustCompile(`Plugin version: (\d+)`)

func (l *launcher) startErr(err error, sum []byte, tail *tailWriter) error {
	pc := l.pc
	msg := err.Error()
	switch {
	case strings.Contains(msg, "incompatible API version"):
		offered := "another version"
		if m := offeredRE.FindStringSubmatch(msg); m != nil {
			offered = "version " + m[1]
		}
		return fmt.Errorf("%w: plugin %q (%s) speaks plugin protocol %s; this host expects version %d (the hangar.store.v%d / hangar.api.v%d contracts): rebuild it against a matching plugins/sdk",
			ErrIncompatible, pc.Name, pc.Path, offered, ProtocolVersion, ProtocolVersion, ProtocolVersion)
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		got := "unreadable"
		if f, ferr := os.Open(pc.Path); ferr == nil {
			h := sha256.New()
			_, _ = io.Copy(h, f)
			f.Close()
			got = "sha256:" + hex.EncodeToString(h.Sum(nil))
		}
		return fmt.Errorf("%w: plugin %q: %s does not match its checksum: expected sha256:%x, the file has %s",
			ErrIncompatible, pc.Name, pc.Path, sum, got)
	case strings.Contains(msg, "exited before we could connect"), strings.Contains(msg, "Failed to read any lines"):
		// Which of the two go-plugin reports depends on a race with the
		// process's exit; either way it said nothing on stdout.
		stderr := tail.String()
		if strings.Contains(stderr, "This binary is a plugin") {
			return fmt.Errorf("%w: plugin %q (%s) exited during the handshake: it expects another magic cookie than %s, so it is not a Hangar plugin (or one built for another host)",
				ErrIncompatible, pc.Name, pc.Path, adapter.Handshake.MagicCookieKey)
		}
		return fmt.Errorf("plugins: plugin %q (%s) exited during the handshake (stderr: %s)", pc.Name, pc.Path, stderr)
	case strings.Contains(msg, "Unrecognized remote plugin message"), strings.Contains(msg, "incompatible core API version"):
		first, _, _ := strings.Cut(msg, "\n")
		return fmt.Errorf("%w: plugin %q (%s) does not follow the go-plugin handshake: %s (stderr: %s)", ErrIncompatible, pc.Name, pc.Path, first, tail.String())
	}
	return fmt.Errorf("plugins: starting plugin %q (%s): %w", pc.Name, pc.Path, err)
}

// kinds asks a process what it serves. Describe answers, or is
// Unimplemented when the binary does not serve that kind; a family answers
// even before Setup (with an error in the response).
func (p *proc) kinds(ctx context.Context) (storeDesc *storev1.ProviderDescription, isFamily bool, err error) {
	dr, err := storev1.NewStoreProviderClient(p.conn).Describe(ctx, &storev1.DescribeRequest{})
	switch {
	case err == nil:
		if e := dr.GetError(); e != nil {
			return nil, false, fmt.Errorf("store Describe: %w", adapter.ProtoToErr(e))
		}
		storeDesc = dr.GetDescription()
	case status.Code(err) != codes.Unimplemented:
		return nil, false, fmt.Errorf("store Describe: %w", err)
	}
	_, err = apiv1.NewFamilyClient(p.conn).Describe(ctx, &apiv1.DescribeRequest{})
	switch {
	case err == nil:
		isFamily = true
	case status.Code(err) != codes.Unimplemented:
		return nil, false, fmt.Errorf("family Describe: %w", err)
	}
	return storeDesc, isFamily, nil
}
