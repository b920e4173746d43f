/* <libloaderapi.h> for Windows sources built against libvirtualwin: the
 * declarations this header has on Windows come from <virtualwin.h>. */
#ifndef VIRTUALWIN_COMPAT_LIBLOADERAPI_H
#define VIRTUALWIN_COMPAT_LIBLOADERAPI_H
#include <virtualwin.h>
#endif
