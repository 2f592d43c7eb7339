/* The magpie IPC convention (docs/iguana.md): label = 64 * iid + method,
 * in-parameters in MR1.., reply label = error code, out-parameters in MR1.. */
#include <iguana/iguana.h>

int iguana_errno;

L4_ThreadId_t iguana_server(void)
{
    static L4_ThreadId_t server;
    if (server.raw == 0) {
        L4_Word_t v, f, id;
        void *kip = L4_KernelInterface(&v, &f, &id);
        server = L4_GlobalId(L4_ThreadIdUserBase(kip) + 1, 1);
    }
    return server;
}

int iguana_call(int iid, int method, int n, const L4_Word_t *in, int nout, L4_Word_t *out)
{
    L4_Set_MsgTag(L4_MsgTagMake(IGUANA_LABEL(iid, method), n, 0));
    for (int i = 0; i < n; i++)
        L4_LoadMR(i + 1, in[i]);
    L4_MsgTag_t tag = L4_Call(iguana_server());
    int err;
    if (L4_IpcFailed(tag)) {
        err = IGUANA_EIPC + (int)(L4_ErrorCode() << 8);
    } else {
        err = (int)L4_Label(tag);
        for (int i = 0; i < nout; i++) {
            L4_Word_t w = 0;
            if ((L4_Word_t)i < L4_UntypedWords(tag))
                L4_StoreMR(i + 1, &w);
            out[i] = w;
        }
    }
    if (err)
        iguana_errno = err;
    return err;
}
