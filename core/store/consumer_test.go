package store

import (
	"errors"
	"testing"
)

func TestConsumerStateRules(t *testing.T) {
	var cs ConsumerState
	steps := []struct {
		name            string
		do              func() error
		delivered, ackf SeqPair
		pending         int
		err             error
	}{
		{"deliver 5", func() error { return cs.ApplyDelivered(1, 5, 1, 10) }, SeqPair{1, 5}, SeqPair{}, 1, nil},
		{"deliver 6", func() error { return cs.ApplyDelivered(2, 6, 1, 20) }, SeqPair{2, 6}, SeqPair{}, 2, nil},
		{"deliver 8", func() error { return cs.ApplyDelivered(3, 8, 1, 30) }, SeqPair{3, 8}, SeqPair{}, 3, nil},
		{"ack 6 out of order", func() error { return cs.ApplyAcks(2, 6) }, SeqPair{3, 8}, SeqPair{0, 4}, 2, nil},
		{"ack 5", func() error { return cs.ApplyAcks(1, 5) }, SeqPair{3, 8}, SeqPair{2, 7}, 1, nil},
		{"redeliver 8", func() error { return cs.ApplyDelivered(4, 8, 2, 40) }, SeqPair{4, 8}, SeqPair{2, 7}, 1, nil},
		{"ack 8", func() error { return cs.ApplyAcks(4, 8) }, SeqPair{4, 8}, SeqPair{4, 8}, 0, nil},
		{"late redelivery below floor", func() error { return cs.ApplyDelivered(5, 7, 3, 50) }, SeqPair{5, 8}, SeqPair{4, 8}, 0, nil},
		{"ack beyond delivered", func() error { return cs.ApplyAcks(9, 20) }, SeqPair{5, 8}, SeqPair{4, 8}, 0, ErrInvalid},
		{"zero dc", func() error { return cs.ApplyDelivered(6, 9, 0, 0) }, SeqPair{5, 8}, SeqPair{4, 8}, 0, ErrInvalid},
	}
	for _, st := range steps {
		err := st.do()
		if !errors.Is(err, st.err) && !(err == nil && st.err == nil) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.err)
		}
		if cs.Delivered != st.delivered || cs.AckFloor != st.ackf || len(cs.Pending) != st.pending {
			t.Fatalf("%s: delivered %+v ack floor %+v pending %v", st.name, cs.Delivered, cs.AckFloor, cs.Pending)
		}
	}
	if err := cs.Validate(); err != nil {
		t.Fatal(err)
	}
	c := cs.Clone()
	c.Pending = map[uint64]Pending{1: {}}
	if len(cs.Pending) != 0 {
		t.Fatal("Clone shares Pending")
	}
	if err := c.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("pending below the ack floor validated: %v", err)
	}
}
