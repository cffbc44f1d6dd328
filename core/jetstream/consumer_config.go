package jetstream

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/subject"
)

// Consumer defaults and bounds of the reference.
const (
	defaultAckWait           = 30 * time.Second
	defaultMaxWaiting        = 512
	defaultInactiveThreshold = 5 * time.Second
	defaultPinnedTTL         = 2 * time.Minute
	minHeartbeat             = 100 * time.Millisecond
	minMaxExpires            = time.Millisecond
)

var groupNameRE = regexp.MustCompile(`^[a-zA-Z0-9/_=-]{1,16}$`)

// consumerBad wraps a config problem the reference reports as 10012.
func consumerBad(format string, a ...any) error {
	return jserr.NewConsumerCreateError(fmt.Errorf(format, a...))
}

// normalizeConsumerConfig applies the reference's defaults to a consumer
// config for stream s and validates it. The result is what the consumer
// runs with and what info reports.
func (s *Stream) normalizeConsumerConfig(in jsapi.ConsumerConfig) (jsapi.ConsumerConfig, error) {
	cfg := in.Clone()
	scfg := s.config()
	// Clients that send a zero time mean "not paused".
	if cfg.PauseUntil != nil && cfg.PauseUntil.IsZero() {
		cfg.PauseUntil = nil
	}
	lim := s.ja.getLimits()
	srvLim := s.rt.cfg.Limits

	if cfg.Durable != "" && cfg.Name != "" && cfg.Durable != cfg.Name {
		return cfg, jserr.NewConsumerCreateDurableAndNameMismatchError()
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Durable
	}
	if err := checkConsumerName(cfg.Durable); err != nil {
		return cfg, err
	}
	if len(cfg.Description) > maxDescriptionLen {
		return cfg, jserr.NewConsumerDescriptionTooLongError(maxDescriptionLen)
	}
	if metadataLen(cfg.Metadata) > maxMetadataLen {
		return cfg, jserr.NewConsumerMetadataLengthError(strconv.Itoa(maxMetadataLen))
	}
	if err := checkDeliverPolicy(&cfg); err != nil {
		return cfg, err
	}
	if cfg.AckWait < 0 {
		return cfg, jserr.NewConsumerAckWaitNegativeError()
	}
	for _, b := range cfg.BackOff {
		if b <= 0 {
			return cfg, jserr.NewConsumerBackOffNegativeError()
		}
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = -1
	}
	if len(cfg.BackOff) > 0 {
		if cfg.MaxDeliver > 0 && cfg.MaxDeliver < len(cfg.BackOff) {
			return cfg, jserr.NewConsumerMaxDeliverBackoffError()
		}
		cfg.AckWait = cfg.BackOff[0]
	}
	if err := checkDeliveryMode(&cfg, &scfg); err != nil {
		return cfg, err
	}
	if err := checkFilters(&cfg); err != nil {
		return cfg, err
	}
	if cfg.SampleFrequency != "" {
		if _, err := parseSampleFreq(cfg.SampleFrequency); err != nil {
			return cfg, jserr.NewConsumerInvalidSamplingError(err)
		}
	}
	if cfg.MaxRequestBatch < 0 {
		cfg.MaxRequestBatch = 0
	}
	if cfg.MaxRequestMaxBytes < 0 {
		cfg.MaxRequestMaxBytes = 0
	}
	if cfg.MaxRequestExpires != 0 && cfg.MaxRequestExpires < minMaxExpires {
		return cfg, jserr.NewConsumerMaxRequestExpiresTooSmallError()
	}
	if m := srvLim.MaxRequestBatch; m > 0 && cfg.MaxRequestBatch > m {
		return cfg, jserr.NewConsumerMaxRequestBatchExceededError(m)
	}
	if cfg.Replicas < 0 {
		return cfg, jserr.NewReplicasCountCannotBeNegativeError()
	}
	if cfg.Replicas > 1 {
		return cfg, jserr.NewStreamReplicasNotSupportedError()
	}
	if err := checkPriority(&cfg); err != nil {
		return cfg, err
	}
	if err := checkAckFlowControl(&cfg); err != nil {
		return cfg, err
	}

	// Defaults that depend on the ack policy, the stream and the limits.
	if cfg.AckPolicy != jsapi.AckNone && cfg.AckPolicy != jsapi.AckFlowControl && cfg.AckWait == 0 {
		cfg.AckWait = defaultAckWait
	}
	if cfg.MaxAckPending < 0 {
		cfg.MaxAckPending = -1
	}
	maxAP := accountMaxAckPending(lim.MaxAckPending, srvLim.MaxAckPending)
	if cfg.AckPolicy != jsapi.AckNone && cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = defaultMaxAckPending
		if m := scfg.ConsumerLimits.MaxAckPending; m > 0 {
			cfg.MaxAckPending = m
		}
		if maxAP > 0 && cfg.MaxAckPending > maxAP {
			cfg.MaxAckPending = maxAP
		}
	}
	if maxAP > 0 && cfg.MaxAckPending > maxAP {
		return cfg, jserr.NewConsumerMaxPendingAckExcessError(maxAP)
	}
	if m := scfg.ConsumerLimits.MaxAckPending; m > 0 && cfg.MaxAckPending > m {
		return cfg, jserr.NewConsumerMaxPendingAckExcessError(m)
	}
	if !cfg.IsPush() && cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = defaultMaxWaiting
	}
	if cfg.InactiveThreshold < 0 {
		cfg.InactiveThreshold = 0
	}
	if cfg.InactiveThreshold == 0 {
		if t := scfg.ConsumerLimits.InactiveThreshold; t > 0 {
			cfg.InactiveThreshold = t
		} else if cfg.Durable == "" {
			cfg.InactiveThreshold = defaultInactiveThreshold
		}
	}
	if t := scfg.ConsumerLimits.InactiveThreshold; t > 0 && cfg.InactiveThreshold > t {
		return cfg, jserr.NewConsumerInactiveThresholdExcessError(t)
	}
	if cfg.PriorityPolicy == jsapi.PriorityPinnedClient && cfg.PinnedTTL == 0 {
		cfg.PinnedTTL = defaultPinnedTTL
	}
	if err := checkRetention(&cfg, &scfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func accountMaxAckPending(acc, srv int) int {
	switch {
	case acc > 0 && srv > 0:
		return min(acc, srv)
	case acc > 0:
		return acc
	default:
		return srv
	}
}

func checkConsumerName(name string) error {
	if name == "" {
		return nil
	}
	if hasPathSep(name) {
		return jserr.NewConsumerNameContainsPathSeparatorsError()
	}
	if strings.ContainsAny(name, ".*>") {
		return jserr.NewConsumerBadDurableNameError()
	}
	if len(name) > maxNameLen {
		return jserr.NewConsumerNameTooLongError(maxNameLen)
	}
	return nil
}

// checkDeliverPolicy checks the start options against the deliver policy,
// with the reference's wording.
func checkDeliverPolicy(cfg *jsapi.ConsumerConfig) error {
	bad := func(policy, what string) error {
		return jserr.NewConsumerInvalidPolicyError(fmt.Errorf("consumer delivery policy is deliver %s, but %s", policy, what))
	}
	seq, tm := cfg.OptStartSeq > 0, cfg.OptStartTime != nil
	name := map[jsapi.DeliverPolicy]string{
		jsapi.DeliverAll: "all", jsapi.DeliverLast: "last", jsapi.DeliverNew: "new",
		jsapi.DeliverLastPerSubject:  "last per subject",
		jsapi.DeliverByStartSequence: "by start sequence", jsapi.DeliverByStartTime: "by start time",
	}[cfg.DeliverPolicy]
	switch cfg.DeliverPolicy {
	case jsapi.DeliverAll, jsapi.DeliverLast, jsapi.DeliverNew, jsapi.DeliverLastPerSubject:
		if seq {
			return bad(name, "optional start sequence is also set")
		}
		if tm {
			return bad(name, "optional start time is also set")
		}
		if cfg.DeliverPolicy == jsapi.DeliverLastPerSubject && cfg.FilterSubject == "" && len(cfg.FilterSubjects) == 0 {
			return bad(name, "optional filter subject is not set")
		}
	case jsapi.DeliverByStartSequence:
		if !seq {
			return bad(name, "optional start sequence is not set")
		}
		if tm {
			return bad(name, "optional start time is also set")
		}
	case jsapi.DeliverByStartTime:
		if !tm {
			return bad(name, "optional start time is not set")
		}
		if seq {
			return bad(name, "optional start sequence is also set")
		}
	}
	return nil
}

// checkDeliveryMode checks the push- and pull-only settings.
func checkDeliveryMode(cfg *jsapi.ConsumerConfig, scfg *jsapi.StreamConfig) error {
	if !cfg.IsPush() {
		switch {
		case cfg.Heartbeat > 0:
			return jserr.NewConsumerHBRequiresPushError()
		case cfg.FlowControl:
			return jserr.NewConsumerFCRequiresPushError()
		case cfg.RateLimit > 0:
			return jserr.NewConsumerPullWithRateLimitError()
		case cfg.Direct:
			return jserr.NewConsumerDirectRequiresPushError()
		}
		return nil
	}
	if cfg.MaxWaiting != 0 {
		return jserr.NewConsumerPushMaxWaitingError()
	}
	if cfg.Heartbeat != 0 && cfg.Heartbeat < minHeartbeat {
		return jserr.NewConsumerSmallHeartbeatError()
	}
	if cfg.FlowControl && cfg.Heartbeat == 0 {
		return jserr.NewConsumerWithFlowControlNeedsHeartbeatsError()
	}
	ds := cfg.DeliverSubject
	if !subject.Valid(ds) {
		return jserr.NewConsumerInvalidDeliverSubjectError()
	}
	if subject.HasWildcard(ds) {
		return jserr.NewConsumerDeliverToWildcardsError()
	}
	for _, subj := range scfg.Subjects {
		if subject.Overlap(subj, ds) {
			return jserr.NewConsumerDeliverCycleError()
		}
	}
	return nil
}

// checkFilters validates filter_subject and filter_subjects.
func checkFilters(cfg *jsapi.ConsumerConfig) error {
	if cfg.FilterSubject != "" && len(cfg.FilterSubjects) > 0 {
		return jserr.NewConsumerDuplicateFilterSubjectsError()
	}
	if cfg.FilterSubject != "" && !subject.Valid(cfg.FilterSubject) {
		return jserr.NewStreamInvalidConfigError(errors.New("invalid subject"))
	}
	for i, f := range cfg.FilterSubjects {
		if f == "" {
			return jserr.NewConsumerEmptyFilterError()
		}
		if !subject.Valid(f) {
			return jserr.NewStreamInvalidConfigError(errors.New("invalid subject"))
		}
		for _, g := range cfg.FilterSubjects[:i] {
			if subject.Overlap(f, g) {
				return jserr.NewConsumerOverlappingSubjectFiltersError()
			}
		}
	}
	return nil
}

// parseSampleFreq parses "50%" or "50" into a fraction of acks to sample.
func parseSampleFreq(s string) (float64, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("sample frequency can not be negative")
	}
	return min(float64(n)/100, 1), nil
}

// checkPriority validates priority groups and their policy.
func checkPriority(cfg *jsapi.ConsumerConfig) error {
	if cfg.PriorityPolicy == jsapi.PriorityNone {
		if len(cfg.PriorityGroups) > 0 {
			return jserr.NewConsumerPriorityGroupWithPolicyNoneError()
		}
		if cfg.PinnedTTL != 0 {
			return jserr.NewConsumerPinnedTTLWithoutPriorityPolicyNoneError()
		}
		return nil
	}
	if len(cfg.PriorityGroups) == 0 {
		return jserr.NewConsumerPriorityPolicyWithoutGroupError()
	}
	for _, g := range cfg.PriorityGroups {
		if g == "" {
			return jserr.NewConsumerEmptyGroupNameError()
		}
		if !groupNameRE.MatchString(g) {
			return jserr.NewConsumerInvalidGroupNameError()
		}
	}
	if cfg.IsPush() {
		return jserr.NewConsumerPushWithPriorityGroupError()
	}
	return nil
}

// checkAckFlowControl checks the flow_control ack policy [2.14].
func checkAckFlowControl(cfg *jsapi.ConsumerConfig) error {
	if cfg.AckPolicy != jsapi.AckFlowControl {
		return nil
	}
	switch {
	case !cfg.IsPush():
		return jserr.NewConsumerAckFCRequiresPushError()
	case !cfg.FlowControl:
		return jserr.NewConsumerAckFCRequiresFCError()
	case cfg.MaxAckPending <= 0:
		return jserr.NewConsumerAckFCRequiresMaxAckPendingError()
	case cfg.AckWait != 0 || len(cfg.BackOff) > 0:
		return jserr.NewConsumerAckFCRequiresNoAckWaitError()
	case cfg.MaxDeliver > 0:
		return jserr.NewConsumerAckFCRequiresNoMaxDeliverError()
	}
	return nil
}

// checkRetention applies the work-queue rules that concern one consumer.
func checkRetention(cfg *jsapi.ConsumerConfig, scfg *jsapi.StreamConfig) error {
	if scfg.Retention != jsapi.WorkQueuePolicy {
		return nil
	}
	if cfg.AckPolicy == jsapi.AckNone {
		if cfg.IsPush() {
			return jserr.NewConsumerWQRequiresExplicitAckError()
		}
		return jserr.NewConsumerPullRequiresAckError()
	}
	if cfg.DeliverPolicy != jsapi.DeliverAll {
		return jserr.NewConsumerWQConsumerNotDeliverAllError()
	}
	return nil
}

// consumerFilters returns a config's filters; nil means everything.
func consumerFilters(cfg *jsapi.ConsumerConfig) []string {
	if len(cfg.FilterSubjects) > 0 {
		return cfg.FilterSubjects
	}
	if cfg.FilterSubject != "" && cfg.FilterSubject != ">" {
		return []string{cfg.FilterSubject}
	}
	return nil
}

// checkConsumerUpdate reports the first setting an update may not change,
// with the reference's wording.
func checkConsumerUpdate(old, cfg *jsapi.ConsumerConfig) error {
	switch {
	case old.DeliverPolicy != cfg.DeliverPolicy || old.OptStartSeq != cfg.OptStartSeq || !sameTime(old.OptStartTime, cfg.OptStartTime):
		return consumerBad("deliver policy can not be updated")
	case old.AckPolicy != cfg.AckPolicy:
		return consumerBad("ack policy can not be updated")
	case old.MaxWaiting != cfg.MaxWaiting && !old.IsPush() && !cfg.IsPush():
		return consumerBad("max waiting can not be updated")
	case old.ReplayPolicy != cfg.ReplayPolicy:
		return consumerBad("replay policy can not be updated")
	case old.MemoryStorage != cfg.MemoryStorage:
		return consumerBad("storage type can not be updated")
	case old.Heartbeat != cfg.Heartbeat:
		return consumerBad("heart beats can not be updated")
	case old.FlowControl != cfg.FlowControl:
		return consumerBad("flow control can not be updated")
	case old.Direct != cfg.Direct:
		return consumerBad("direct can not be updated")
	case old.IsPush() != cfg.IsPush():
		if old.IsPush() {
			return consumerBad("can not update push consumer to pull based")
		}
		return consumerBad("can not update pull consumer to push based")
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
