"""Time-bound and recurring shares on the write side: invitations and UpdateUserAccess carry
a window, acceptance grants with it, manage rights count only while in effect, and the
charger appends its boundaries and the ending notice exactly once."""
