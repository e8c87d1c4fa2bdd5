# Runs scripts/stylecheck over the source tree (TAP).
exec sh "${top_srcdir}/scripts/stylecheck" "${top_srcdir}"
