package jetstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/subject"
)

// Limits of names and free text, as the reference enforces them.
const (
	maxNameLen        = 255
	maxDescriptionLen = 4 * 1024
	maxMetadataLen    = 128 * 1024
	maxReplicas       = 5
	minMaxAge         = 100 * time.Millisecond
	minSDMTTL         = time.Second
	// BackendMetaKey is the stream metadata key that picks the backend of
	// a file stream, and that reports it.
	BackendMetaKey = "hangar.backend"
)

var errNameInvalid = errors.New("stream name is required and can not contain '.', '*', '>'")

// validName checks a stream or consumer name.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	return !strings.ContainsAny(name, " \t\r\n\f.*>")
}

func hasPathSep(name string) bool { return strings.ContainsAny(name, `\/`) }

// normalizeStreamConfig applies defaults and validates cfg the way the
// reference's stream config check does. It returns the normalized config or
// an API error. pedantic rejects instead of adjusting.
func (rt *Runtime) normalizeStreamConfig(in jsapi.StreamConfig, pedantic bool) (jsapi.StreamConfig, error) {
	cfg := in.Clone()
	bad := func(format string, a ...any) error {
		return jserr.NewStreamInvalidConfigError(fmt.Errorf(format, a...))
	}
	if hasPathSep(cfg.Name) {
		return cfg, jserr.NewStreamNameContainsPathSeparatorsError()
	}
	if !validName(cfg.Name) {
		if len(cfg.Name) > maxNameLen {
			return cfg, bad("stream name is too long, maximum allowed is %d", maxNameLen)
		}
		return cfg, jserr.NewStreamInvalidConfigError(errNameInvalid)
	}
	if len(cfg.Description) > maxDescriptionLen {
		return cfg, bad("stream description is too long, maximum allowed is %d", maxDescriptionLen)
	}
	if metadataLen(cfg.Metadata) > maxMetadataLen {
		return cfg, bad("stream metadata exceeds maximum size of %d bytes", maxMetadataLen)
	}
	if cfg.TemplateOwner != "" {
		return cfg, bad("stream templates are not supported")
	}
	if cfg.Replicas < 0 {
		return cfg, jserr.NewReplicasCountCannotBeNegativeError()
	}
	if cfg.Replicas == 0 {
		if err := pedanticCheck(pedantic, "replicas"); err != nil {
			return cfg, err
		}
		cfg.Replicas = 1
	}
	if cfg.Replicas > maxReplicas {
		return cfg, bad("maximum replicas is %d", maxReplicas)
	}
	if cfg.Replicas > 1 {
		return cfg, jserr.NewStreamReplicasNotSupportedError()
	}
	setUnlimited := func(v *int64) {
		if *v == 0 {
			*v = -1
		}
	}
	if cfg.MaxMsgs < -1 || cfg.MaxBytes < -1 || cfg.MaxMsgsPerSubject < -1 || cfg.MaxMsgSize < -1 || cfg.MaxConsumers < -1 {
		// The reference treats any negative as unlimited.
	}
	for _, p := range []*int64{&cfg.MaxMsgs, &cfg.MaxBytes, &cfg.MaxMsgsPerSubject} {
		if *p < 0 {
			*p = -1
		}
		setUnlimited(p)
	}
	if cfg.MaxConsumers <= 0 {
		cfg.MaxConsumers = -1
	}
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = -1
	}
	if cfg.MaxAge < 0 {
		return cfg, bad("max age needs to be >= 0")
	}
	if cfg.MaxAge > 0 && cfg.MaxAge < minMaxAge {
		if pedantic {
			return cfg, jserr.NewPedanticError(fmt.Errorf("max_age must be larger than %v", minMaxAge))
		}
		return cfg, bad("max age needs to be >= %v", minMaxAge)
	}
	if cfg.Duplicates < 0 {
		return cfg, bad("duplicates window can not be negative")
	}
	// Mirrors and sourcing streams get no default window: what they bring
	// in was deduplicated at its origin.
	if cfg.Duplicates == 0 && cfg.Mirror == nil && len(cfg.Sources) == 0 {
		w := defaultDuplicateWindow
		if cfg.MaxAge > 0 && cfg.MaxAge < w {
			w = cfg.MaxAge
		}
		if mw := rt.cfg.Limits.MaxDuplicateWindow; mw > 0 && w > mw {
			w = mw
		}
		cfg.Duplicates = w
	} else if cfg.Duplicates > 0 {
		if cfg.Duplicates < minMaxAge {
			return cfg, bad("duplicates window needs to be >= %v", minMaxAge)
		}
		if cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge {
			return cfg, bad("duplicates window can not be larger then max age")
		}
		if mw := rt.cfg.Limits.MaxDuplicateWindow; mw > 0 && cfg.Duplicates > mw {
			return cfg, bad("duplicates window can not be larger then server limit of %v", mw)
		}
	}
	if cfg.DiscardNewPer {
		if cfg.Discard != jsapi.DiscardNew {
			return cfg, bad("discard new per subject requires discard new policy to be set")
		}
		if cfg.MaxMsgsPerSubject <= 0 {
			return cfg, bad("discard new per subject requires max msgs per subject > 0")
		}
	}
	// allow_batched only permits a publishing mode (fast batch); plain
	// publishes to such a stream work as usual, so it is accepted.
	switch {
	case cfg.AllowMsgCounter:
		return cfg, bad("message counters are not supported by this server")
	case cfg.AllowAtomicPublish && cfg.PersistMode == jsapi.AsyncPersistMode:
		return cfg, bad("atomic publish is not supported in async mode")
	case cfg.AllowMsgSchedules:
		return cfg, bad("message schedules are not supported by this server")
	}
	if cfg.PersistMode == jsapi.AsyncPersistMode && cfg.Storage != jsapi.FileStorage {
		return cfg, bad("async persist mode requires file storage")
	}
	if cfg.SubjectDeleteMarkerTTL != 0 {
		if cfg.Mirror != nil {
			return cfg, bad("subject delete markers forbidden on mirrors")
		}
		if cfg.SubjectDeleteMarkerTTL < minSDMTTL {
			return cfg, bad("subject delete marker TTL must be at least 1 second")
		}
		if cfg.DenyPurge {
			return cfg, bad("roll-ups require the purge permission")
		}
		// Markers need TTLs and roll-ups; the reference turns them on.
		cfg.AllowMsgTTL = true
		cfg.AllowRollup = true
	}
	if cfg.AllowRollup && cfg.DenyPurge {
		return cfg, bad("roll-ups require the purge permission")
	}
	if err := rt.checkSubjects(&cfg); err != nil {
		return cfg, err
	}
	if err := checkSources(&cfg); err != nil {
		return cfg, err
	}
	if cfg.SubjectTransform != nil {
		st := cfg.SubjectTransform
		if st.Source != "" && !subject.Valid(st.Source) {
			return cfg, jserr.NewStreamTransformInvalidSourceError(fmt.Errorf("invalid subject"))
		}
		if _, err := subject.NewTransform(orAll(st.Source), st.Destination); err != nil {
			return cfg, jserr.NewStreamTransformInvalidDestinationError(err)
		}
	}
	if rp := cfg.RePublish; rp != nil {
		if rp.Source == "" {
			rp.Source = ">"
		}
		if !subject.Valid(rp.Source) {
			return cfg, bad("stream configuration for republish source is invalid")
		}
		if !subject.Valid(rp.Destination) {
			return cfg, bad("stream configuration for republish destination is invalid")
		}
		if _, err := subject.NewTransform(rp.Source, rp.Destination); err != nil {
			return cfg, bad("stream configuration for republish with transform from '%s' to '%s' not valid", rp.Source, rp.Destination)
		}
		for _, s := range cfg.Subjects {
			if subject.Overlap(s, rp.Destination) {
				return cfg, bad("stream configuration for republish destination forms a cycle")
			}
		}
	}
	if cfg.MirrorDirect && cfg.Mirror == nil {
		return cfg, bad("stream has no mirror but does have mirror direct")
	}
	if cfg.Storage == jsapi.MemoryStorage && cfg.Compression != jsapi.NoCompression {
		// The reference allows it and ignores compression for memory.
	}
	return cfg, nil
}

func orAll(s string) string {
	if s == "" {
		return ">"
	}
	return s
}

func pedanticCheck(pedantic bool, what string) error { return nil }

func metadataLen(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// stripServerMeta drops metadata keys the server manages, for comparisons.
func stripServerMeta(c jsapi.StreamConfig) jsapi.StreamConfig {
	if len(c.Metadata) == 0 {
		c.Metadata = nil
		return c
	}
	m := map[string]string{}
	for k, v := range c.Metadata {
		if !strings.HasPrefix(k, "_nats.") && k != BackendMetaKey {
			m[k] = v
		}
	}
	if len(m) == 0 {
		m = nil
	}
	c.Metadata = m
	return c
}

// checkSubjects defaults and validates the captured subjects.
func (rt *Runtime) checkSubjects(cfg *jsapi.StreamConfig) error {
	bad := func(format string, a ...any) error {
		return jserr.NewStreamInvalidConfigError(fmt.Errorf(format, a...))
	}
	if cfg.Mirror != nil {
		if len(cfg.Subjects) > 0 {
			return jserr.NewMirrorWithSubjectsError()
		}
		return nil
	}
	if len(cfg.Subjects) == 0 && len(cfg.Sources) == 0 {
		cfg.Subjects = []string{cfg.Name}
	}
	seen := map[string]bool{}
	for _, s := range cfg.Subjects {
		if seen[s] {
			return bad("duplicate subjects detected")
		}
		seen[s] = true
		if !subject.Valid(s) {
			return bad("invalid subject")
		}
		if s == ">" && !cfg.NoAck {
			return bad("stream configuration with '>' subject requires no_ack to be set")
		}
		if !cfg.NoAck && (subject.SubsetOf(jsapi.APIPrefix+"INFO", s) || subject.Overlap(s, "$JS.API.>")) {
			return bad("subjects that overlap with jetstream api require no-ack to be true")
		}
	}
	for i, a := range cfg.Subjects {
		for _, b := range cfg.Subjects[i+1:] {
			if subject.Overlap(a, b) {
				return bad("subjects overlap")
			}
		}
	}
	return nil
}

// checkSources validates a mirror and sources.
func checkSources(cfg *jsapi.StreamConfig) error {
	if m := cfg.Mirror; m != nil {
		if len(cfg.Sources) > 0 {
			return jserr.NewMirrorWithSourcesError()
		}
		if cfg.FirstSeq > 0 {
			return jserr.NewStreamInvalidConfigError(fmt.Errorf("stream mirrors can not have first sequence configured"))
		}
		if !validName(m.Name) {
			return jserr.NewMirrorInvalidStreamNameError()
		}
		if m.OptStartSeq > 0 && m.OptStartTime != nil {
			return jserr.NewMirrorWithStartSeqAndTimeError()
		}
		if m.FilterSubject != "" && len(m.SubjectTransforms) > 0 {
			return jserr.NewMirrorMultipleFiltersNotAllowedError()
		}
		if m.FilterSubject != "" && !subject.Valid(m.FilterSubject) {
			return jserr.NewMirrorInvalidSubjectFilterError(fmt.Errorf("invalid subject"))
		}
		if err := checkTransforms(m.SubjectTransforms, true); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, src := range cfg.Sources {
		if src == nil || !validName(src.Name) {
			return jserr.NewSourceInvalidStreamNameError()
		}
		key := sourceKey(src)
		if seen[key] {
			return jserr.NewSourceDuplicateDetectedError()
		}
		seen[key] = true
		if src.FilterSubject != "" && len(src.SubjectTransforms) > 0 {
			return jserr.NewSourceMultipleFiltersNotAllowedError()
		}
		if src.FilterSubject != "" && !subject.Valid(src.FilterSubject) {
			return jserr.NewSourceInvalidSubjectFilterError(fmt.Errorf("invalid subject"))
		}
		if err := checkTransforms(src.SubjectTransforms, false); err != nil {
			return err
		}
	}
	return nil
}

func checkTransforms(ts []jsapi.SubjectTransform, mirror bool) error {
	for i, t := range ts {
		if t.Source != "" && !subject.Valid(t.Source) {
			if mirror {
				return jserr.NewMirrorInvalidSubjectFilterError(fmt.Errorf("invalid subject"))
			}
			return jserr.NewSourceInvalidSubjectFilterError(fmt.Errorf("invalid subject"))
		}
		if t.Destination != "" {
			if _, err := subject.NewTransform(orAll(t.Source), t.Destination); err != nil {
				if mirror {
					return jserr.NewMirrorInvalidTransformDestinationError(err)
				}
				return jserr.NewSourceInvalidTransformDestinationError(err)
			}
		}
		for _, o := range ts[i+1:] {
			if subject.Overlap(orAll(t.Source), orAll(o.Source)) {
				if mirror {
					return jserr.NewMirrorOverlappingSubjectFiltersError()
				}
				return jserr.NewSourceOverlappingSubjectFiltersError()
			}
		}
	}
	return nil
}

// sourceKey identifies a source for duplicate detection: its name, filter
// and transforms, and external prefix.
func sourceKey(s *jsapi.StreamSource) string {
	b, _ := json.Marshal(struct {
		N string
		F string
		T []jsapi.SubjectTransform
		E *jsapi.ExternalStream
	}{s.Name, s.FilterSubject, s.SubjectTransforms, s.External})
	return string(b)
}

// checkUpdate rejects changes the reference does not allow on update.
func checkUpdate(old, cfg *jsapi.StreamConfig) error {
	bad := func(format string, a ...any) error {
		return jserr.NewStreamInvalidConfigError(fmt.Errorf(format, a...))
	}
	if old.Storage != cfg.Storage {
		return bad("stream configuration update can not change storage type")
	}
	if (old.Retention == jsapi.WorkQueuePolicy) != (cfg.Retention == jsapi.WorkQueuePolicy) && old.Retention != cfg.Retention {
		return bad("stream configuration update can not change retention policy to/from workqueue")
	}
	if !reflect.DeepEqual(old.Mirror, cfg.Mirror) {
		if old.Mirror != nil && cfg.Mirror != nil || cfg.Mirror != nil {
			return jserr.NewStreamMirrorNotUpdatableError()
		}
	}
	if old.Sealed && !cfg.Sealed {
		return bad("stream configuration update can not unseal a sealed stream")
	}
	if old.DenyDelete && !cfg.DenyDelete {
		return bad("stream configuration update can not cancel deny message deletes")
	}
	if old.DenyPurge && !cfg.DenyPurge {
		return bad("stream configuration update can not cancel deny purge")
	}
	if old.AllowMsgTTL && !cfg.AllowMsgTTL {
		return bad("message TTL status can not be disabled")
	}
	if old.FirstSeq != cfg.FirstSeq && cfg.FirstSeq != 0 {
		return bad("stream configuration update can not change first sequence")
	}
	if old.Replicas != cfg.Replicas {
		return jserr.NewStreamReplicasNotSupportedError()
	}
	return nil
}
