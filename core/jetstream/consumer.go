package jetstream

import "github.com/hangar-mq/hangar/core/store"

// Consumer is a stream consumer. The full model arrives with the consumer
// work; until then a stream has none.
type Consumer struct{}

func (c *Consumer) kick()                               {}
func (c *Consumer) streamPurged(req store.PurgeRequest) {}

func (s *Stream) recoverConsumers() error { return nil }
func (s *Stream) stopConsumers(del bool)  {}
