package mem

// msgList is the message slice, stored in fixed blocks so that growing it
// never copies messages (a single slice of millions of entries would copy
// them on every growth, and stall the garbage collector while doing so) and
// dropping the front frees whole blocks.
type msgList struct {
	blocks []*msgBlock
	off    int // slots of blocks[0] before index 0
	n      int
	spare  *msgBlock
}

const (
	blockShift = 10
	blockLen   = 1 << blockShift
	blockMask  = blockLen - 1
)

type msgBlock [blockLen]msg

func (l *msgList) len() int { return l.n }

func (l *msgList) at(i int) *msg {
	p := l.off + i
	return &l.blocks[p>>blockShift][p&blockMask]
}

func (l *msgList) push(m msg) {
	p := l.off + l.n
	if p>>blockShift == len(l.blocks) {
		b := l.spare
		if b == nil {
			b = new(msgBlock)
		}
		l.spare = nil
		l.blocks = append(l.blocks, b)
	}
	l.blocks[p>>blockShift][p&blockMask] = m
	l.n++
}

// pop drops the last element.
func (l *msgList) pop() {
	l.n--
	p := l.off + l.n
	l.blocks[p>>blockShift][p&blockMask] = msg{}
	if p&blockMask == 0 {
		l.release(len(l.blocks) - 1)
		l.blocks = l.blocks[:len(l.blocks)-1]
	}
}

// dropFront drops the first k elements, freeing the blocks they filled.
func (l *msgList) dropFront(k int) {
	l.off += k
	l.n -= k
	for l.off >= blockLen {
		l.release(0)
		l.blocks = l.blocks[1:]
		l.off -= blockLen
	}
}

func (l *msgList) release(i int) {
	b := l.blocks[i]
	l.blocks[i] = nil
	if l.spare == nil {
		*b = msgBlock{}
		l.spare = b
	}
}

func (l *msgList) reset() { *l = msgList{spare: l.spare} }

// search returns the smallest i in [lo, n) for which f is true, assuming f
// is false then true along the list, or n.
func (l *msgList) search(lo int, f func(*msg) bool) int {
	hi := l.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if !f(l.at(mid)) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
