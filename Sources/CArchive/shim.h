#ifndef HANDOVER_CARCHIVE_SHIM_H
#define HANDOVER_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/// AE_IFREG is an octal macro of type mode_t; expose it as a function so Swift sees one type.
static inline unsigned int handover_archive_regular_file(void) { return AE_IFREG; }
/// AE_IFDIR, likewise.
static inline unsigned int handover_archive_directory(void) { return AE_IFDIR; }
#endif
