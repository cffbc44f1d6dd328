package store

// MemMsgSize is the accounted size of a message in a memory stream, the
// figure the reference server reports for storage: memory.
func MemMsgSize(subject string, hdr, data []byte) uint64 {
	return uint64(len(subject) + len(hdr) + len(data) + 16)
}

// FileMsgSize is the accounted size of a message in a file stream: the
// reference server's record size (22-byte fixed header, subject, data and an
// 8-byte checksum, plus a 4-byte length and the header when there is one).
func FileMsgSize(subject string, hdr, data []byte) uint64 {
	n := 22 + len(subject) + len(data) + 8
	if len(hdr) > 0 {
		n += 4 + len(hdr)
	}
	return uint64(n)
}

// MsgSize is the accounted size of a message in a stream of type t. Every
// backend uses it for StreamState.Bytes and max_bytes, whatever its medium,
// so stream info agrees with the reference server.
func MsgSize(t StorageType, subject string, hdr, data []byte) uint64 {
	if t == MemoryStorage {
		return MemMsgSize(subject, hdr, data)
	}
	return FileMsgSize(subject, hdr, data)
}
