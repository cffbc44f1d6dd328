package plugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthoringSteps follows docs/plugin-authoring.md on the examples, the
// way a third party would: inside each example's own module (the
// workspace off), `go vet` and `go test ./...` (for segstore: the whole
// conformance kit, in-process and over gRPC), and `go build -o NAME .`
// (binary). Deploying and checking the binary are TestCLICheck and
// TestPluginConformance; the doc must keep telling the same steps.
func TestAuthoringSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests the example modules: skipped under -short")
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "plugin-authoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{
		"go mod init example.com/mystore",
		"sdk.ServeStoreFunc(func(cfg store.ProviderConfig) (store.Provider, error) {",
		"sdk.RunConformance(t, sdk.Factory{",
		"go test ./...",
		"go build -o mystore .",
		"hangar plugins check ./mystore",
		"plugins {\n  mystore {\n    path: ",
		"backend: mystore",
		"hangar.backend",
		"sdk.ServeAPIFamily(func(h jsapi.Host) jsapi.Family",
	} {
		if !strings.Contains(string(doc), step) {
			t.Errorf("docs/plugin-authoring.md no longer says %q", step)
		}
	}
	for _, ex := range []string{"segstore", "statsfamily"} {
		t.Run(ex, func(t *testing.T) {
			dir := filepath.Join("examples", ex)
			for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
				cmd := exec.Command("go", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOWORK=off")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
				}
				t.Logf("go %s:\n%s", strings.Join(args, " "), out)
			}
			if fi, err := os.Stat(binary(t, ex)); err != nil || fi.Mode()&0o111 == 0 {
				t.Fatalf("go build -o %s . gave no executable: %v", ex, err)
			}
		})
	}
}
