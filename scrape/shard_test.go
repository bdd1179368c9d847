package scrape

import (
	"fmt"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestShardsSplitTargetsWithoutOverlap checks that N replicas with the same
// configuration together scrape every target exactly once, and that the
// split is stable for targets that stay.
func TestShardsSplitTargetsWithoutOverlap(t *testing.T) {
	cfg := scrapeConfig("node")
	var tls []model.LabelSet
	for i := 0; i < 300; i++ {
		tls = append(tls, model.LabelSet{model.AddressLabel: model.LabelValue(fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250))})
	}
	targets, _, errs := targetsFromGroup(&targetgroup.Group{Targets: tls}, cfg, labels.NewBuilder(labels.EmptyLabels()))
	require.Empty(t, errs)
	const shards = 3
	owners := map[string]int{}
	perShard := make([]int, shards)
	for i := 0; i < shards; i++ {
		o := Options{Shards: shards, ShardIndex: i}
		for _, tg := range targets {
			if o.owns(tg) {
				owners[tg.url]++
				perShard[i]++
			}
		}
	}
	require.Len(t, owners, len(targets))
	for u, n := range owners {
		require.Equal(t, 1, n, "target %s scraped by exactly one replica", u)
	}
	for i, n := range perShard {
		require.InDelta(t, len(targets)/shards, n, float64(len(targets))/shards*0.3, "shard %d gets a fair share", i)
	}
	// The decision depends only on the target.
	again, _, _ := targetsFromGroup(&targetgroup.Group{Targets: tls[:10]}, cfg, labels.NewBuilder(labels.EmptyLabels()))
	for i, tg := range again {
		require.Equal(t, targets[i].hash, tg.hash)
	}
	require.True(t, Options{Shards: 1}.owns(targets[0]))
	require.True(t, Options{}.owns(targets[0]))
}
