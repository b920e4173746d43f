/* <ntstatus.h> for Windows sources built against libvirtualwin: the native
 * virtual-memory calls, NTSTATUS and the status codes come from
 * <virtualwin/nt.h>. */
#ifndef VIRTUALWIN_COMPAT_NTSTATUS_H
#define VIRTUALWIN_COMPAT_NTSTATUS_H
#include <virtualwin/nt.h>
#endif
