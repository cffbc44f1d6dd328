package subject

import "testing"

func TestTransform(t *testing.T) {
	cases := []struct {
		src, dest, in, out string
		ok                 bool
	}{
		{"foo.*", "bar.$1", "foo.x", "bar.x", true},
		{"foo.*.*", "bar.{{wildcard(2)}}.{{wildcard(1)}}", "foo.a.b", "bar.b.a", true},
		{"foo.>", "bar.>", "foo.a.b", "bar.a.b", true},
		{">", "mirror.>", "a.b", "mirror.a.b", true},
		{"foo.*", "", "foo.x", "foo.x", true},
		{"foo.*", "bar", "baz.x", "baz.x", false},
		{"foo.*", "bar.*", "foo.x", "bar.x", true},
		{"a.*.*", "x-$2-$1", "a.p.q", "x-q-p", true},
	}
	for _, tc := range cases {
		tr, err := NewTransform(tc.src, tc.dest)
		if err != nil {
			t.Fatalf("%s->%s: %v", tc.src, tc.dest, err)
		}
		got, ok := tr.Apply(tc.in)
		if got != tc.out || ok != tc.ok {
			t.Fatalf("%s->%s on %s: got %s %v", tc.src, tc.dest, tc.in, got, ok)
		}
	}
	for _, bad := range [][2]string{{"foo.*", "bar.$2"}, {"foo.*", "bar.*.*"}, {"foo.*", "bar.>"}, {"foo..", "x"}, {"a.*", "{{nope(1)}}"}} {
		if _, err := NewTransform(bad[0], bad[1]); err == nil {
			t.Fatalf("%v should fail", bad)
		}
	}
	tr, _ := NewTransform("orders.*", "orders.{{partition(3,1)}}.$1")
	a, _ := tr.Apply("orders.42")
	b, _ := tr.Apply("orders.42")
	if a != b {
		t.Fatal("partition must be deterministic")
	}
}
