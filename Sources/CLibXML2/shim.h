#ifndef HANDOVER_CLIBXML2_SHIM_H
#define HANDOVER_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its UErrorCode clashes with Foundation's copy of the ICU
   headers in any module that sees both. The flag only changes two private fields. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlregexp.h>
#endif
