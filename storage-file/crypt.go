package storagefile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hangar-mq/hangar/core/store"
	"golang.org/x/crypto/chacha20poly1305"
)

// Cipher ids, as stored in file headers and key files.
const (
	cipherNone       = 0
	cipherChaChaPoly = 1
	cipherAESGCM     = 2
)

const keyMagic = "HNGRKEY\x01"

func cipherID(name string) (uint8, error) {
	switch name {
	case "", "chachapoly", "chacha", "chacha20poly1305":
		return cipherChaChaPoly, nil
	case "aes", "aes-gcm", "aesgcm":
		return cipherAESGCM, nil
	}
	return 0, fmt.Errorf("%w: filestore: unknown cipher %q (want chachapoly or aes)", store.ErrInvalid, name)
}

func newAEAD(id uint8, key []byte) (cipher.AEAD, error) {
	switch id {
	case cipherChaChaPoly:
		return chacha20poly1305.New(key)
	case cipherAESGCM:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	return nil, fmt.Errorf("%w: filestore: cipher id %d", store.ErrCorrupt, id)
}

// keyring holds the provider's master keys: the current one and, during a
// rotation, the previous one.
type keyring struct {
	cipher uint8
	key    []byte // SHA-256 of the configured key
	prev   []byte
}

func newKeyring(key, prev, cipherName string) (*keyring, error) {
	if key == "" {
		if prev != "" {
			return nil, fmt.Errorf("%w: filestore: prev_key without key", store.ErrInvalid)
		}
		return nil, nil
	}
	id, err := cipherID(cipherName)
	if err != nil {
		return nil, err
	}
	kr := &keyring{cipher: id}
	k := sha256.Sum256([]byte(key))
	kr.key = k[:]
	if prev != "" {
		p := sha256.Sum256([]byte(prev))
		kr.prev = p[:]
	}
	return kr, nil
}

// kek derives the key that wraps one stream's data key, so that a key file
// copied to another stream's directory does not open there.
func kek(master []byte, account, name string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("hangar filestore kek\x00"))
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write([]byte(name))
	return m.Sum(nil)
}

// wrapKey encodes a stream's data key sealed under master.
func wrapKey(id uint8, master []byte, account, name string, dataKey []byte) ([]byte, error) {
	a, err := newAEAD(id, kek(master, account, name))
	if err != nil {
		return nil, err
	}
	out := append([]byte(keyMagic), id)
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return a.Seal(out, nonce, dataKey, out[:len(keyMagic)+1]), nil
}

var errWrongKey = errors.New("filestore: stream key does not open with the configured key")

// unwrapKey opens a key file with master.
func unwrapKey(b, master []byte, account, name string) (id uint8, dataKey []byte, err error) {
	if len(b) < len(keyMagic)+1+12+16 || string(b[:len(keyMagic)]) != keyMagic {
		return 0, nil, fmt.Errorf("%w: filestore: malformed key file", store.ErrCorrupt)
	}
	id = b[len(keyMagic)]
	a, err := newAEAD(id, kek(master, account, name))
	if err != nil {
		return 0, nil, err
	}
	head := len(keyMagic) + 1
	nonce := b[head : head+a.NonceSize()]
	dataKey, err = a.Open(nil, nonce, b[head+a.NonceSize():], b[:head])
	if err != nil {
		return 0, nil, errWrongKey
	}
	return id, dataKey, nil
}

// newDataKey returns a random data key.
func newDataKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

// newSalt returns a random file salt.
func newSalt() (s [8]byte) {
	_, _ = rand.Read(s[:])
	return s
}

// newLayout returns a random layout id.
func newLayout() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return getU32(b[:])
}

// sealBlob seals a whole file payload (state, index and meta files) with a
// random nonce, or appends a CRC-32C when a is nil.
func sealBlob(a cipher.AEAD, payload, ad []byte) []byte {
	if a == nil {
		out := append(payload, 0, 0, 0, 0)
		putU32(out[len(payload):], crc32.Update(crc(ad), castagnoli, payload))
		return out
	}
	nonce := make([]byte, a.NonceSize())
	_, _ = rand.Read(nonce)
	return a.Seal(nonce, nonce, payload, ad)
}

// openBlob reverses sealBlob; ok false means the blob is damaged.
func openBlob(a cipher.AEAD, blob, ad []byte) ([]byte, bool) {
	if a == nil {
		if len(blob) < 4 {
			return nil, false
		}
		p := blob[:len(blob)-4]
		return p, getU32(blob[len(p):]) == crc32.Update(crc(ad), castagnoli, p)
	}
	ns := a.NonceSize()
	if len(blob) < ns+a.Overhead() {
		return nil, false
	}
	p, err := a.Open(nil, blob[:ns], blob[ns:], ad)
	return p, err == nil
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
func getU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
