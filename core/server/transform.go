package server

import (
	"fmt"
	"math/rand/v2"

	"github.com/hangar-mq/hangar/core/subject"
)

// mapping is one compiled MappingConfig.
type mapping struct {
	src   string
	dests []weightedDest
	total int
}

type weightedDest struct {
	tr     *subject.Transform
	dst    string
	weight int
}

// mappings are an account's subject mappings: literal sources by map
// lookup, wildcard sources in order.
type mappings struct {
	literal map[string]*mapping
	wild    []*mapping
}

func compileMappings(cfg []*MappingConfig) (*mappings, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	ms := &mappings{literal: make(map[string]*mapping)}
	for _, mc := range cfg {
		m := &mapping{src: mc.Source}
		for _, d := range mc.Destinations {
			tr, err := newTransform(mc.Source, d.Subject)
			if err != nil {
				return nil, err
			}
			w := int(d.Weight)
			if w == 0 && len(mc.Destinations) == 1 {
				w = 100
			}
			if w > 100 {
				return nil, fmt.Errorf("mapping %q: weight %d above 100%%", mc.Source, w)
			}
			m.dests = append(m.dests, weightedDest{tr: tr, dst: d.Subject, weight: w})
			m.total += w
		}
		if len(m.dests) == 0 {
			return nil, fmt.Errorf("mapping %q has no destination", mc.Source)
		}
		if m.total > 100 {
			return nil, fmt.Errorf("mapping %q: weights add up to %d%%, above 100%%", mc.Source, m.total)
		}
		if subject.HasWildcard(mc.Source) {
			ms.wild = append(ms.wild, m)
		} else {
			ms.literal[mc.Source] = m
		}
	}
	return ms, nil
}

// all returns every mapping, literal sources first.
func (ms *mappings) all() []*mapping {
	out := make([]*mapping, 0, len(ms.literal)+len(ms.wild))
	for _, m := range ms.literal {
		out = append(out, m)
	}
	return append(out, ms.wild...)
}

// apply maps subj, reporting whether it changed.
func (ms *mappings) apply(subj string) (string, bool) {
	m := ms.literal[subj]
	if m == nil {
		for _, w := range ms.wild {
			if subject.Match(subj, w.src) {
				m = w
				break
			}
		}
		if m == nil {
			return subj, false
		}
	}
	d := &m.dests[0]
	if len(m.dests) > 1 || m.total < 100 {
		r := rand.IntN(100)
		d = nil
		for i := range m.dests {
			if r < m.dests[i].weight {
				d = &m.dests[i]
				break
			}
			r -= m.dests[i].weight
		}
		if d == nil {
			return subj, false
		}
	}
	out, ok := d.tr.Apply(subj)
	if !ok {
		return subj, false
	}
	return out, true
}

// newTransform compiles a mapping or import transform; unlike a stream
// transform, a mapping needs a destination.
func newTransform(src, dst string) (*subject.Transform, error) {
	if dst == "" {
		return nil, fmt.Errorf("empty mapping destination for %q", src)
	}
	return subject.NewTransform(src, dst)
}

// ValidateMapping checks that dst is a destination src can map to, for
// configuration loaders to report with the setting's position.
func ValidateMapping(src, dst string) error {
	_, err := newTransform(src, dst)
	return err
}
