package subject

import "testing"

func TestValid(t *testing.T) {
	cases := []struct {
		s             string
		literal, wild bool
	}{
		{"foo", true, true},
		{"foo.bar", true, true},
		{"foo.*", false, true},
		{"foo.>", false, true},
		{">", false, true},
		{"*", false, true},
		{"foo.>.bar", false, false},
		{"foo..bar", false, false},
		{".foo", false, false},
		{"foo.", false, false},
		{"", false, false},
		{"foo bar", false, false},
		{"foo\tbar", false, false},
		{"foo*.bar", true, true},
		{"foo.b>r", true, true},
		{"$JS.API.INFO", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.s, func(t *testing.T) {
			if got := ValidLiteral(tc.s); got != tc.literal {
				t.Errorf("ValidLiteral(%q) = %v, want %v", tc.s, got, tc.literal)
			}
			if got := Valid(tc.s); got != tc.wild {
				t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.wild)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		lit, filter string
		want        bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo.bar", "foo.*", true},
		{"foo.bar", "*.bar", true},
		{"foo.bar", "*", false},
		{"foo.bar", ">", true},
		{"foo.bar", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo.bar.baz", "foo.>", true},
		{"foo.bar.baz", "foo.*", false},
		{"foo.bar.baz", "foo.*.baz", true},
		{"foo.bar.baz", "foo.*.>", true},
		{"foo.bar", "foo.bar.baz", false},
		{"foo.bar.baz", "foo.bar", false},
		{"foo", "", true},
		{"foobar", "foo", false},
		{"foo", "foobar", false},
	}
	for _, tc := range cases {
		if got := Match(tc.lit, tc.filter); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.lit, tc.filter, got, tc.want)
		}
	}
}

func TestSubsetAndOverlap(t *testing.T) {
	cases := []struct {
		a, b            string
		subset, overlap bool
	}{
		{"foo.bar", "foo.*", true, true},
		{"foo.*", "foo.bar", false, true},
		{"foo.>", "foo.*", false, true},
		{"foo.*", "foo.>", true, true},
		{"foo.*", "bar.*", false, false},
		{"*.bar", "foo.*", false, true},
		{"foo", "foo.>", false, false},
		{">", "foo", false, true},
		{"foo.bar", "foo.bar", true, true},
		{"a.b.c", "a.*", false, false},
	}
	for _, tc := range cases {
		if got := SubsetOf(tc.a, tc.b); got != tc.subset {
			t.Errorf("SubsetOf(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.subset)
		}
		if got := Overlap(tc.a, tc.b); got != tc.overlap {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.overlap)
		}
	}
}

func TestTokenAt(t *testing.T) {
	if got := TokenAt("a.b.c", 2); got != "b" {
		t.Fatalf("got %q", got)
	}
	if got := TokenAt("a.b.c", 3); got != "c" {
		t.Fatalf("got %q", got)
	}
	if got := TokenAt("a.b.c", 4); got != "" {
		t.Fatalf("got %q", got)
	}
	if NumTokens("a.b.c") != 3 || NumTokens("") != 0 {
		t.Fatal("NumTokens")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("foo.bar", "foo.*")
	f.Add("a.b.c", ">")
	f.Fuzz(func(t *testing.T, lit, filter string) {
		if !ValidLiteral(lit) || !Valid(filter) {
			return
		}
		m := Match(lit, filter)
		if m && !Overlap(lit, filter) {
			t.Fatalf("match without overlap: %q %q", lit, filter)
		}
		if m != SubsetOf(lit, filter) {
			t.Fatalf("Match(%q,%q)=%v but SubsetOf=%v", lit, filter, m, SubsetOf(lit, filter))
		}
	})
}
