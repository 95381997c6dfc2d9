/* format.h: printf into a freshly allocated string (used by error records and logging). */
#ifndef PEGR_FORMAT_H
#define PEGR_FORMAT_H

#include <stdarg.h>

/* The formatted string, malloc'ed (free it), or NULL when out of memory. */
char *pegr_vformat(const char *fmt, va_list ap);

#endif
