package jserr

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

func TestConstructors(t *testing.T) {
	e := NewStreamWrongLastSequenceError(42)
	if e.Code != 400 || e.ErrCode != 10071 || e.Description != "wrong last sequence: 42" {
		t.Fatalf("got %+v", e)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", e), NewStreamWrongLastSequenceError(0)) {
		t.Fatal("errors.Is by err_code")
	}
	if errors.Is(e, NewStreamNotFoundError()) {
		t.Fatal("different codes must not match")
	}
	if got := From(errors.New("boom")); got.ErrCode != ErrStreamGeneralError || got.Description != "boom" {
		t.Fatalf("From: %+v", got)
	}
	if l, ok := Lookup(ErrStreamNotFound); !ok || l.Description != "stream not found" {
		t.Fatalf("Lookup: %+v", l)
	}
}

// TestGeneratedIsCurrent fails when errors.json changed without go generate.
func TestGeneratedIsCurrent(t *testing.T) {
	before, err := os.ReadFile("errors_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./internal/gen")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	after, _ := os.ReadFile("errors_generated.go")
	if string(before) != string(after) {
		t.Fatal("errors_generated.go was stale; it has been regenerated, commit it")
	}
}
