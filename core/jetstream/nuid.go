package jetstream

import (
	"crypto/rand"
	"sync"
)

// nuidGen makes 22-character unique ids, the shape NATS uses for advisory
// ids and snapshot subjects: a random prefix and an incrementing suffix.
type nuidGen struct {
	mu     sync.Mutex
	prefix [12]byte
	seq    uint64
	inc    uint64
}

const nuidDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var nuids = newNuidGen()

func newNuidGen() *nuidGen {
	g := &nuidGen{}
	g.reset()
	return g
}

func (g *nuidGen) reset() {
	var b [12 + 16]byte
	rand.Read(b[:])
	for i := 0; i < 12; i++ {
		g.prefix[i] = nuidDigits[int(b[i])%len(nuidDigits)]
	}
	g.seq = uint64(b[12])<<32 | uint64(b[13])<<24 | uint64(b[14])<<16 | uint64(b[15])<<8 | uint64(b[16])
	g.inc = 33 + uint64(b[17])%300
}

func newNUID() string {
	g := nuids
	g.mu.Lock()
	g.seq += g.inc
	if g.seq >= 839299365868340224 { // 62^10
		g.reset()
	}
	var b [22]byte
	copy(b[:12], g.prefix[:])
	n := g.seq
	for i := 21; i >= 12; i-- {
		b[i] = nuidDigits[n%62]
		n /= 62
	}
	g.mu.Unlock()
	return string(b[:])
}
