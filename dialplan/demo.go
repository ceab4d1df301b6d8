package dialplan

import (
	"context"
	"fmt"
)

// SeedDemo creates the demo room slug (with pin, "" for none; lang "de") with the phone
// number assigned, but only when the store has no room yet (first start
// with an empty data directory). It reports whether it created anything.
// number "" creates the room without a number.
func (s *Store) SeedDemo(ctx context.Context, slug, number, pin string) (bool, error) {
	empty, err := s.IsEmpty(ctx)
	if err != nil || !empty {
		return false, err
	}
	if number != "" {
		if _, err := NormalizeNumber(number); err != nil {
			return false, fmt.Errorf("dialplan: demo number: %w", err)
		}
	}
	if _, err := s.AddRoom(ctx, slug, "Demo", pin, ""); err != nil {
		return false, fmt.Errorf("dialplan: demo room: %w", err)
	}
	if number == "" {
		return true, nil
	}
	if _, err := s.AddNumber(ctx, number, slug); err != nil {
		return true, fmt.Errorf("dialplan: demo number: %w", err)
	}
	return true, nil
}
