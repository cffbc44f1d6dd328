package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorKinds(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			s := k.Sentinel()
			if s == nil || !strings.HasPrefix(s.Error(), "store: ") {
				t.Fatalf("sentinel %v lacks the store: prefix", s)
			}
			wrapped := fmt.Errorf("%w: seq 7", s)
			if KindOf(wrapped) != k {
				t.Fatalf("KindOf(wrapped) = %v", KindOf(wrapped))
			}
			back := ErrorFromKind(k, wrapped.Error())
			if !errors.Is(back, s) || back.Error() != wrapped.Error() {
				t.Fatalf("ErrorFromKind = %v (is %v)", back, errors.Is(back, s))
			}
			if ErrorFromKind(k, "") != s {
				t.Fatal("ErrorFromKind without text is not the sentinel")
			}
		})
	}
	if KindOf(nil) != KindUnknown || KindOf(errors.New("x")) != KindUnknown {
		t.Fatal("KindOf of a foreign error")
	}
	if ErrorFromKind(KindUnknown, "") != nil {
		t.Fatal("ErrorFromKind(unknown, \"\") is not nil")
	}
	if e := ErrorFromKind(KindUnknown, "boom"); e == nil || e.Error() != "boom" || KindOf(e) != KindUnknown {
		t.Fatalf("ErrorFromKind(unknown, boom) = %v", e)
	}
	if ErrorKind(99).String() != "ErrorKind(99)" || ErrorKind(99).Sentinel() != nil {
		t.Fatal("out of range kind")
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		err            error
		missing, limit bool
	}{
		{ErrNotFound, true, false},
		{fmt.Errorf("%w: x", ErrDeleted), true, false},
		{ErrEOF, true, false},
		{ErrMaxMsgs, false, true},
		{fmt.Errorf("%w: x", ErrMaxBytes), false, true},
		{ErrMaxMsgsPerSubject, false, true},
		{ErrMaxMsgSize, false, true},
		{ErrClosed, false, false},
		{nil, false, false},
	}
	for _, tc := range cases {
		if IsMissing(tc.err) != tc.missing || IsLimit(tc.err) != tc.limit {
			t.Errorf("%v: IsMissing %v IsLimit %v", tc.err, IsMissing(tc.err), IsLimit(tc.err))
		}
	}
}

func TestMsgSize(t *testing.T) {
	cases := []struct {
		subj      string
		hdr, data []byte
		mem, file uint64
	}{
		{"foo", nil, nil, 19, 33},
		{"foo", nil, []byte("hello"), 24, 38},
		{"foo.bar", []byte("NATS/1.0\r\n\r\n"), []byte("x"), 36, 54},
	}
	for _, tc := range cases {
		if got := MsgSize(MemoryStorage, tc.subj, tc.hdr, tc.data); got != tc.mem {
			t.Errorf("memory size of %q = %d, want %d", tc.subj, got, tc.mem)
		}
		if got := MsgSize(FileStorage, tc.subj, tc.hdr, tc.data); got != tc.file {
			t.Errorf("file size of %q = %d, want %d", tc.subj, got, tc.file)
		}
	}
}

func TestFilters(t *testing.T) {
	cases := []struct {
		subj    string
		filters []string
		want    bool
	}{
		{"a.b", nil, true},
		{"a.b", []string{""}, true},
		{"a.b", []string{"x", "a.*"}, true},
		{"a.b", []string{"x", "a"}, false},
		{"a.b", []string{">"}, true},
	}
	for _, tc := range cases {
		if got := MatchAny(tc.subj, tc.filters); got != tc.want {
			t.Errorf("MatchAny(%q, %q) = %v", tc.subj, tc.filters, got)
		}
	}
	if !MatchesAll(nil) || !MatchesAll([]string{"a", ">"}) || MatchesAll([]string{"a.>"}) {
		t.Error("MatchesAll")
	}
	if ValidateFilters([]string{"", "a.*", "b.>"}) != nil || !errors.Is(ValidateFilters([]string{"a..b"}), ErrInvalid) {
		t.Error("ValidateFilters")
	}
}

func TestDeletedSeqs(t *testing.T) {
	st := StreamState{Deleted: []Range{{First: 3, Last: 3}, {First: 5, Last: 7}}}
	got := st.DeletedSeqs()
	if len(got) != 4 || got[0] != 3 || got[3] != 7 || (Range{First: 5, Last: 7}).Len() != 3 {
		t.Fatalf("DeletedSeqs = %v", got)
	}
}
