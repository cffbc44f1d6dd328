package storagefile

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

const metaMagic = "HNGRMETA\x01"

// metaJSON is the stream configuration as meta.dat stores it, spelt out so
// that the file does not change when the Go type does.
type metaJSON struct {
	Account              string `json:"account"`
	Name                 string `json:"name"`
	Storage              int32  `json:"storage"`
	MaxMsgs              int64  `json:"max_msgs,omitempty"`
	MaxBytes             int64  `json:"max_bytes,omitempty"`
	MaxMsgsPerSubject    int64  `json:"max_msgs_per_subject,omitempty"`
	MaxAge               int64  `json:"max_age,omitempty"`
	MaxMsgSize           int32  `json:"max_msg_size,omitempty"`
	Discard              int32  `json:"discard,omitempty"`
	DiscardNewPerSubject bool   `json:"discard_new_per_subject,omitempty"`
	FirstSeq             uint64 `json:"first_seq,omitempty"`
	AllowMsgTTL          bool   `json:"allow_msg_ttl,omitempty"`
	Compression          int32  `json:"compression,omitempty"`
	Meta                 []byte `json:"meta,omitempty"`
}

func toMetaJSON(c store.StreamConfig) metaJSON {
	return metaJSON{Account: c.Account, Name: c.Name, Storage: int32(c.Storage), MaxMsgs: c.MaxMsgs,
		MaxBytes: c.MaxBytes, MaxMsgsPerSubject: c.MaxMsgsPerSubject, MaxAge: int64(c.MaxAge),
		MaxMsgSize: c.MaxMsgSize, Discard: int32(c.Discard), DiscardNewPerSubject: c.DiscardNewPerSubject,
		FirstSeq: c.FirstSeq, AllowMsgTTL: c.AllowMsgTTL, Compression: int32(c.Compression), Meta: c.Meta}
}

func (j metaJSON) config() store.StreamConfig {
	return store.StreamConfig{Account: j.Account, Name: j.Name, Storage: store.StorageType(j.Storage),
		MaxMsgs: j.MaxMsgs, MaxBytes: j.MaxBytes, MaxMsgsPerSubject: j.MaxMsgsPerSubject,
		MaxAge: time.Duration(j.MaxAge), MaxMsgSize: j.MaxMsgSize, Discard: store.DiscardPolicy(j.Discard),
		DiscardNewPerSubject: j.DiscardNewPerSubject, FirstSeq: j.FirstSeq, AllowMsgTTL: j.AllowMsgTTL,
		Compression: store.Compression(j.Compression), Meta: j.Meta}
}

func (p *Provider) metaPath(dir string) string { return p.fs.PathJoin(dir, "meta.dat") }
func (p *Provider) keyPath(dir string) string  { return p.fs.PathJoin(dir, "meta.key") }

// writeMeta replaces a stream's meta.dat, atomically and durably.
func (p *Provider) writeMeta(dir string, cfg store.StreamConfig, aead cipher.AEAD) error {
	js, err := json.Marshal(toMetaJSON(cfg))
	if err != nil {
		return err
	}
	data := append([]byte(metaMagic), sealBlob(aead, js, []byte(metaMagic))...)
	if err := writeFileAtomic(p.fs, p.metaPath(dir), data); err != nil {
		return fmt.Errorf("filestore: write stream meta: %w", err)
	}
	return nil
}

// readMeta reads a stream's meta.dat.
func (p *Provider) readMeta(dir string, aead cipher.AEAD) (store.StreamConfig, error) {
	raw, err := readAll(p.fs, p.metaPath(dir))
	if err != nil {
		return store.StreamConfig{}, err
	}
	if len(raw) < len(metaMagic) || string(raw[:len(metaMagic)]) != metaMagic {
		return store.StreamConfig{}, fmt.Errorf("%w: filestore: %s: not a stream meta file", store.ErrCorrupt, p.metaPath(dir))
	}
	js, ok := openBlob(aead, raw[len(metaMagic):], []byte(metaMagic))
	if !ok {
		return store.StreamConfig{}, fmt.Errorf("%w: filestore: %s is damaged", store.ErrCorrupt, p.metaPath(dir))
	}
	var j metaJSON
	if err := json.Unmarshal(js, &j); err != nil {
		return store.StreamConfig{}, fmt.Errorf("%w: filestore: %s: %w", store.ErrCorrupt, p.metaPath(dir), err)
	}
	return j.config(), nil
}

// streamKey opens (or, with create, makes) the data key of the stream in
// dir and returns its AEAD; nil when the stream is not encrypted. A key file
// that opens only with the previous key is rewrapped with the current one.
func (p *Provider) streamKey(dir, account, name string, create bool) (cipher.AEAD, uint8, error) {
	raw, err := readAll(p.fs, p.keyPath(dir))
	if err != nil {
		if !create || p.keys == nil {
			return nil, 0, nil
		}
		dk, err := newDataKey()
		if err != nil {
			return nil, 0, err
		}
		wrapped, err := wrapKey(p.keys.cipher, p.keys.key, account, name, dk)
		if err != nil {
			return nil, 0, err
		}
		if err := writeFileAtomic(p.fs, p.keyPath(dir), wrapped); err != nil {
			return nil, 0, fmt.Errorf("filestore: write stream key: %w", err)
		}
		a, err := newAEAD(p.keys.cipher, dk)
		return a, p.keys.cipher, err
	}
	if p.keys == nil {
		return nil, 0, fmt.Errorf("%w: filestore: stream %s/%s is encrypted and no key is configured", store.ErrInvalid, account, name)
	}
	id, dk, err := unwrapKey(raw, p.keys.key, account, name)
	if errors.Is(err, errWrongKey) && p.keys.prev != nil {
		if id, dk, err = unwrapKey(raw, p.keys.prev, account, name); err == nil {
			wrapped, werr := wrapKey(id, p.keys.key, account, name, dk)
			if werr == nil {
				werr = writeFileAtomic(p.fs, p.keyPath(dir), wrapped)
			}
			if werr != nil {
				return nil, 0, fmt.Errorf("filestore: rewrap stream key: %w", werr)
			}
			p.logf("stream %s/%s: key rotated to the current key", account, name)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: filestore: stream %s/%s: %w", store.ErrInvalid, account, name, err)
	}
	a, err := newAEAD(id, dk)
	return a, id, err
}
