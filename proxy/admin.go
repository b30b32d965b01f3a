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
// before they are stored, and each change bumps Changes, which the
// firewalls of this process share (Config.Changes), so that they decide
// anew at once. Firewalls of other processes see it within their
// Config.DecisionTTL.
type Admin struct {
	store.Firewall
	Changes *Changes // nil: no firewall in this process
}

// AddOverride checks o and stores it, under the canonical name (PEP 503
// normalized for PyPI).
func (a Admin) AddOverride(ctx context.Context, o *store.Override) error {
	if err := ValidateOverride(*o); err != nil {
		return fmt.Errorf("override: %w: %w", err, scheduler.ErrInvalid)
	}
	o.Name = ecosystem.CanonicalName(o.Ecosystem, o.Name)
	if err := a.Firewall.AddOverride(ctx, o); err != nil {
		return err
	}
	a.Changes.Bump()
	return nil
}

// DeleteOverride removes an override.
func (a Admin) DeleteOverride(ctx context.Context, id string) error {
	if err := a.Firewall.DeleteOverride(ctx, id); err != nil {
		return err
	}
	a.Changes.Bump()
	return nil
}
