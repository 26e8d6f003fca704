"""Named entities: spaCy NER over title and body, refined and canonicalised per article."""
