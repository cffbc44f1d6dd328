package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/test/harness"
)

// natsCLI returns the nats CLI, installing it when missing.
func natsCLI(t *testing.T) string {
	t.Helper()
	return harness.NatsCLI(t)
}

const sysConf = `
server_name: hangar-cli
accounts {
  A: { users: [ { user: a, password: a } ] }
  SYS: { users: [ { user: admin, password: admin } ] }
}
system_account: SYS
`

// TestCLISystemAccount drives the nats CLI commands that read the
// system account: server list/info/ping, the connections report, and
// account info (which asks $SYS.REQ.USER.INFO through the account's
// import).
func TestCLISystemAccount(t *testing.T) {
	cli := natsCLI(t)
	s := harness.ServerFromConfig(t, sysConf)
	run := func(user string, args ...string) string {
		t.Helper()
		args = append([]string{"--server", s.ClientURL(), "--user", user, "--password", user, "--timeout", "2s"}, args...)
		cmd := exec.Command(cli, args...)
		cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nats %s: %v\n%s", strings.Join(args[8:], " "), err, out)
		}
		return string(out)
	}
	for _, tc := range []struct {
		user string
		args []string
		want []string
	}{
		{"admin", []string{"server", "list"}, []string{"hangar-cli"}},
		{"admin", []string{"server", "info"}, []string{"Server information for hangar-cli", s.ID()}},
		{"admin", []string{"server", "ping", "1"}, []string{"hangar-cli"}},
		{"admin", []string{"server", "report", "connections"}, []string{"hangar-cli"}},
		{"a", []string{"account", "info"}, []string{"User: a", "Account: A", "System Account: false"}},
		{"admin", []string{"account", "info"}, []string{"Account: SYS"}},
	} {
		out := run(tc.user, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("nats %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}
