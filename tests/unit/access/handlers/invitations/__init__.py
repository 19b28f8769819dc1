"""The invitation commands, a module each: InviteUser, AcceptInvitation,
DeclineInvitation, RevokeInvitation, ResendInvitation, and tokens across a secret rotation."""
