package plugins

import "testing"

// Binary builds (once per test binary) and returns a test plugin, for the
// tests of plugins/cli that live in package plugins_test: building the
// plugins again in a second test binary would double the suite's time.
func Binary(t testing.TB, name string) string { return binary(t, name) }
