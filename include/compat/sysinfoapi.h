/* <sysinfoapi.h> for Windows sources built against libvirtualwin: the declarations this
 * header has on Windows come from <virtualwin.h>. */
#ifndef VIRTUALWIN_COMPAT_SYSINFOAPI_H
#define VIRTUALWIN_COMPAT_SYSINFOAPI_H
#include <virtualwin.h>
#endif
