"""Authenticators: turn a presented credential into a Principal (see ``base.Authenticator``)."""
