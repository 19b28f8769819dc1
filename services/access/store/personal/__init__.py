"""Personal data in the immutable log, sealed per person (crypto-shredding).

E-mail addresses, phone numbers and names are stored encrypted (AES-GCM) under a key
per *subject*: a registered user's id, or for an address without an account, the id of
that e-mail's uniqueness claim. Keys live in `person_keys`, outside the log. Forgetting a
person deletes their keys in the commit that stores `UserForgotten`, after which every
sealed value reads as a pseudonym; the rest of the history stays intact and auditable.
An e-mail claim's subject is retired with its key, so the address's next person is
sealed under a fresh subject (`keyring`).

- `sealing`: the cipher: sealing one value, opening sealed values (also for the log's
  readers, `services/access/eventlog/unsealing.py`).
- `fields`: which values of which events are personal, and whose.
- `keyring`: where the keys live, and their lifetime within a batch.
- `mapper`: the store's mapper, sealing on the way in and opening on the way out.
"""
