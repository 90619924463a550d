"""Privacy: the GDPR erasure of a person (customer file and/or phone numbers) everywhere their
number, name or voice can be — database, recordings, Asterisk's spool and logs — keeping only a
keyed hash of the number where the law requires proof (do-not-call list, consents, decisions)."""
