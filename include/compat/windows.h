/* <windows.h> for Windows sources built against libvirtualwin: the declarations this
 * header has on Windows come from <virtualwin.h>. */
#ifndef VIRTUALWIN_COMPAT_WINDOWS_H
#define VIRTUALWIN_COMPAT_WINDOWS_H
#include <virtualwin.h>
#include "winbase.h"   /* the heap, token and handle calls AWE programs make */
#endif
