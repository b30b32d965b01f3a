package proxy

import (
	"context"
	"fmt"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// Admin is the firewall's state as the API serves it to admins: overrides
// are checked (ValidateOverride; a bad one wraps scheduler.ErrInvalid)
// before they are stored.
type Admin struct{ store.Firewall }

// AddOverride checks o and stores it, under the canonical name (PEP 503
// normalized for PyPI).
func (a Admin) AddOverride(ctx context.Context, o *store.Override) error {
	if err := ValidateOverride(*o); err != nil {
		return fmt.Errorf("override: %w: %w", err, scheduler.ErrInvalid)
	}
	o.Name = ecosystem.CanonicalName(o.Ecosystem, o.Name)
	return a.Firewall.AddOverride(ctx, o)
}
