package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// User is a person or a service account that logs in.
type User struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Email             string     `json:"email"`
	PasswordHash      string     `json:"-"`
	Enabled           bool       `json:"enabled"`
	Locale            string     `json:"-"` // the web console's language ("" follows the browser)
	FailedLogins      int        `json:"-"`
	LockedUntil       *time.Time `json:"locked_until,omitempty"`
	LastLoginAt       *time.Time `json:"last_login_at,omitempty"`
	PasswordChangedAt time.Time  `json:"-"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Locked reports whether the account is locked out at time now.
func (u User) Locked(now time.Time) bool { return u.LockedUntil != nil && u.LockedUntil.After(now) }

// UserInput is what an admin gives to create a user.
type UserInput struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Enabled  *bool  `json:"enabled"`
}

// checkEmail accepts an empty address or a plain one that fits its column.
func checkEmail(p Problems, email string) {
	if email == "" {
		return
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 255 {
		p.Add("email", "must be an e-mail address like name@example.org")
	}
}

// checkPassword applies the password rules; field names the form field.
func (s *Store) checkPassword(p Problems, field, password, userName string) {
	switch {
	case len(password) < s.opts.MinPasswordLength:
		p.Addf(field, "must be at least %d characters", s.opts.MinPasswordLength)
	case len(password) > 72:
		p.Add(field, "must be at most 72 bytes")
	case strings.EqualFold(password, userName):
		p.Add(field, "must not be the user name")
	}
}

func (s *Store) hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CreateUser adds a user. The password is hashed with bcrypt; it is never
// stored or logged.
func (s *Store) CreateUser(ctx context.Context, c Caller, in UserInput) (User, error) {
	u, _, err := s.CreateUserWithRole(ctx, c, in, nil)
	return u, err
}

// CreateUserWithRole creates a user and, when first is given (its User is
// ignored), their first role assignment — in one transaction, so a bad
// project or role leaves no user behind without it.
func (s *Store) CreateUserWithRole(ctx context.Context, c Caller, in UserInput, first *AssignmentInput) (User, *RoleAssignmentView, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	p := Problems{}
	var role Role
	if first != nil {
		var err error
		if role, err = ParseRole(first.Role); err != nil {
			p.Add("role", err.Error())
		}
		if !first.System && first.Project == "" {
			p.Add("project", "choose a project")
		}
	}
	p.Slug("name", in.Name)
	checkEmail(p, in.Email)
	s.checkPassword(p, "password", in.Password, in.Name)
	if err := p.Err(); err != nil {
		return User{}, nil, err
	}
	hash, err := s.hashPassword(in.Password)
	if err != nil {
		return User{}, nil, err
	}
	var assigned *RoleAssignmentView
	now := s.now()
	u := User{ID: newID(), Name: in.Name, Email: in.Email, PasswordHash: hash, Enabled: in.Enabled == nil || *in.Enabled,
		PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("name", "a user with this name exists")
			}
			return fmt.Errorf("insert user: %w", err)
		}
		if err := s.audit(tx, c, AuditUserCreate, OutcomeSuccess, "user", u.ID, u.Name, ""); err != nil {
			return err
		}
		if first == nil {
			return nil
		}
		v, err := s.assignRole(tx, c, u, *first, role)
		assigned = &v
		return err
	})
	if err != nil {
		return User{}, nil, err
	}
	return u, assigned, nil
}

// GetUser finds a user by ID or name.
func (s *Store) GetUser(ctx context.Context, idOrName string) (User, error) {
	return s.getUser(s.db.WithContext(ctx), idOrName)
}

func (s *Store) getUser(tx *gorm.DB, idOrName string) (User, error) {
	return takeRef[User](byRef(tx, "users", idOrName), "user", idOrName)
}

// ListUsers lists users by name.
func (s *Store) ListUsers(ctx context.Context, o ListOptions) (Page[User], error) {
	p, err := pageByName(s.db.WithContext(ctx).Model(&User{}), "users", o, func(u User) string { return u.ID })
	if err != nil {
		return p, fmt.Errorf("list users: %w", err)
	}
	return p, nil
}

// UserUpdate is a partial change to a user; nil fields stay as they are.
type UserUpdate struct {
	Email    *string `json:"email"`
	Enabled  *bool   `json:"enabled"`
	Password *string `json:"password"` // an admin's reset
	Unlock   bool    `json:"unlock"`
}

// UpdateUser changes a user. A password reset revokes all the user's
// tokens and ends their web sessions (sessions check PasswordChangedAt); a
// disabled user can do nothing until enabled again.
func (s *Store) UpdateUser(ctx context.Context, c Caller, id string, up UserUpdate) (User, error) {
	var u User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = s.getUser(s.forUpdate(tx), id); err != nil {
			return err
		}
		p := Problems{}
		now := s.now()
		var events [][2]string // action, detail
		if up.Email != nil {
			if e := strings.TrimSpace(*up.Email); e != u.Email {
				checkEmail(p, e)
				u.Email = e
				events = append(events, [2]string{AuditUserUpdate, "email"})
			}
		}
		if up.Enabled != nil && *up.Enabled != u.Enabled {
			if !*up.Enabled && u.ID == c.UserID {
				p.Add("enabled", "you cannot disable yourself")
			}
			u.Enabled = *up.Enabled
			events = append(events, [2]string{AuditUserUpdate, fmt.Sprintf("enabled=%t", u.Enabled)})
		}
		if up.Password != nil {
			s.checkPassword(p, "password", *up.Password, u.Name)
			if !p.has("password") {
				if u.PasswordHash, err = s.hashPassword(*up.Password); err != nil {
					return err
				}
				u.PasswordChangedAt = now
				events = append(events, [2]string{AuditUserPassword, ""})
			}
		}
		if up.Unlock {
			u.LockedUntil, u.FailedLogins = nil, 0
			events = append(events, [2]string{AuditUserUnlock, ""})
		}
		if err := p.Err(); err != nil {
			return err
		}
		u.UpdatedAt = now
		if err := tx.Save(&u).Error; err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if up.Password != nil {
			// A reset is what an operator does to a compromised account:
			// every token dies with the old password, API tokens included.
			if err := tx.Model(&Token{}).Where("user_id = ? AND revoked_at IS NULL", u.ID).
				Update("revoked_at", now).Error; err != nil {
				return fmt.Errorf("revoke tokens: %w", err)
			}
		}
		for _, e := range events {
			if err := s.audit(tx, c, e[0], OutcomeSuccess, "user", u.ID, u.Name, e[1]); err != nil {
				return err
			}
		}
		return nil
	})
	return u, err
}
