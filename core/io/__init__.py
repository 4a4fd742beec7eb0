"""Files: networks saved and loaded (:mod:`.storage`), the classification data sets
(:mod:`.data`) and atomic writes (:mod:`.files`)."""
