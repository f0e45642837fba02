package auth

// SetHitReadsBack makes Hit count as on a database without RETURNING (MySQL, TiDB) until
// the returned func is called.
func SetHitReadsBack(on bool) (undo func()) {
	was := hitReadsBack
	hitReadsBack = on
	return func() { hitReadsBack = was }
}
