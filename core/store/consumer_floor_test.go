package store

import (
	"math/rand"
	"testing"
)

// TestApplyAcksMatchesWalk checks the probing ack-floor update against the
// plain definition (just below the oldest pending) on random deliveries,
// gaps (filtered consumers) and out-of-order acks.
func TestApplyAcksMatchesWalk(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		var cs ConsumerState
		var delivered []uint64
		sseq, dseq := uint64(0), uint64(0)
		for i := 0; i < 50; i++ {
			sseq += uint64(1 + r.Intn(4))
			dseq++
			if err := cs.ApplyDelivered(dseq, sseq, 1, 0); err != nil {
				t.Fatal(err)
			}
			delivered = append(delivered, sseq)
		}
		r.Shuffle(len(delivered), func(i, j int) {
			if r.Intn(3) == 0 {
				delivered[i], delivered[j] = delivered[j], delivered[i]
			}
		})
		for _, q := range delivered[:30+r.Intn(20)] {
			p := cs.Pending[q]
			if err := cs.ApplyAcks(p.Sequence, q); err != nil {
				t.Fatal(err)
			}
			want := cs.Delivered
			if len(cs.Pending) > 0 {
				var low uint64
				for s := range cs.Pending {
					if low == 0 || s < low {
						low = s
					}
				}
				want = SeqPair{Stream: low - 1, Consumer: cs.Pending[low].Sequence - 1}
			}
			if cs.AckFloor != want {
				t.Fatalf("round %d: floor %+v, want %+v", round, cs.AckFloor, want)
			}
		}
	}
}
