"""A synthetic force: incident logs, safeguarding notes, crime records and full-truth audits.

``generate(n_records, seed, profile, split)`` streams ``(Record, list[Crime], Audit)``;
``write_synthetic`` writes the three contract files. Language comes from YAML phrase banks
(``phrases/``), force behaviour from YAML profiles (``profiles/``).
"""

from crimedetect.synth.bank import PhraseBank, PhraseBankError, load_bank
from crimedetect.synth.generator import DEFAULT_PROFILE, generate
from crimedetect.synth.profile import Profile, ProfileError, available_profiles, load_profile

__all__ = [
    "DEFAULT_PROFILE",
    "PhraseBank",
    "PhraseBankError",
    "Profile",
    "ProfileError",
    "available_profiles",
    "generate",
    "load_bank",
    "load_profile",
]
