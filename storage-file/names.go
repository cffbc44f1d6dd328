package storagefile

import (
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// escapeName turns an account, stream or consumer name into one safe path
// element: letters, digits, '_' and '-' stay, every other byte becomes %XX,
// and the empty name is "%". No result is "." or "..", holds a separator,
// or equals another name's result. (On a case-insensitive file system names
// that differ only in case still collide.)
func escapeName(s string) string {
	if s == "" {
		return "%"
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// unescapeName reverses escapeName.
func unescapeName(s string) (string, bool) {
	if s == "%" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// syncDir makes the entries of directory d durable.
func syncDir(fs vfs.FS, d string) error {
	f, err := fs.OpenDir(d)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllSync creates d and its missing parents, syncing each parent
// whose entries changed, so that the new directories survive a power loss.
func mkdirAllSync(fs vfs.FS, d string) error {
	if _, err := fs.Stat(d); err == nil {
		return nil
	}
	parent := fs.PathDir(d)
	if parent != d {
		if err := mkdirAllSync(fs, parent); err != nil {
			return err
		}
	}
	if err := fs.MkdirAll(d, 0o755); err != nil {
		return err
	}
	if parent != d {
		return syncDir(fs, parent)
	}
	return nil
}
