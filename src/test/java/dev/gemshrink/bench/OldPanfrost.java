package dev.gemshrink.bench;

import dev.gemshrink.memory.PagePool;
import dev.gemshrink.reclaim.ShrinkControl;
import dev.gemshrink.reclaim.Shrinker;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Baseline A: the design the project replaced, modelled faithfully on the pre-generic-shrinker Panfrost driver
 * ({@code panfrost_gem_shrinker.c}, {@code panfrost_ioctl_madvise}) over the 5.x {@code drm_gem_shmem_helper.c}.
 *
 * <ul>
 *   <li>One global mutex ({@code pfdev->shrinker_lock}) guards one intrusive list ({@code shrinker_list}) that holds
 *       the objects madvised DONTNEED (madvise WILLNEED takes them off).</li>
 *   <li>count: trylock the global mutex (0 if contended), walk the whole list and add the pages of every object that
 *       is purgeable ({@code madv > 0 && !vmap_use_count && sgt}).</li>
 *   <li>scan: trylock the global mutex (STOP if contended), iterate from the head, purge each purgeable object whose
 *       own lock can be try-locked and which the GPU is not using, unlink what was purged; skipped objects stay
 *       where they are (no rotation). Purge only: there is no swap.</li>
 *   <li>Each object has the helper's two mutexes, {@code pages_lock} and {@code vmap_lock}; every get/put pages,
 *       pin/unpin (5.x pin is get_pages) and vmap/vunmap takes them, whatever the count.</li>
 * </ul>
 *
 * <p>Pages come from the same {@link PagePool} class gemshrink uses, so a purge does the same page work. Not modelled
 * (on either side of the comparison): GPU page-table teardown and the driver's mappings lock.
 */
final class OldPanfrost {
    static final int WILLNEED = 0;
    static final int DONTNEED = 1;
    static final int PURGED = -1;

    private OldPanfrost() {
    }

    /** The device: the page pool, the global shrinker mutex and the DONTNEED list. */
    static final class Device {
        final PagePool pool;
        final ReentrantLock shrinkerLock = new ReentrantLock(); // pfdev->shrinker_lock
        Bo head; // shrinker_list, guarded by shrinkerLock
        Bo tail; // guarded by shrinkerLock
        final OldShrinker shrinker = new OldShrinker(this);

        Device(PagePool pool) {
            this.pool = pool;
        }

        Bo create(long size) {
            return new Bo(this, (int) ((size + PagePool.PAGE_SIZE - 1) >>> PagePool.PAGE_SHIFT));
        }

        /** panfrost_ioctl_madvise: the global mutex, then the object's madvise, then the list move. */
        boolean madvise(Bo bo, int madv) {
            shrinkerLock.lock();
            try {
                boolean retained = bo.madvise(madv);
                if (retained) {
                    if (madv == DONTNEED) {
                        listMoveTail(bo);
                    } else if (madv == WILLNEED) {
                        listDel(bo);
                    }
                }
                return retained;
            } finally {
                shrinkerLock.unlock();
            }
        }

        /** panfrost_gem_free_object: off the list under the global mutex, then the helper's free. */
        void free(Bo bo) {
            shrinkerLock.lock();
            try {
                listDel(bo);
            } finally {
                shrinkerLock.unlock();
            }
            bo.freeObject();
        }

        private void listMoveTail(Bo bo) {
            listDel(bo);
            bo.madvPrev = tail;
            bo.madvNext = null;
            if (tail == null) {
                head = bo;
            } else {
                tail.madvNext = bo;
            }
            tail = bo;
        }

        private void listDel(Bo bo) {
            if (bo.madvPrev == null && head != bo) {
                return; // list_empty(&bo->madv_list)
            }
            if (bo.madvPrev == null) {
                head = bo.madvNext;
            } else {
                bo.madvPrev.madvNext = bo.madvNext;
            }
            if (bo.madvNext == null) {
                tail = bo.madvPrev;
            } else {
                bo.madvNext.madvPrev = bo.madvPrev;
            }
            bo.madvPrev = null;
            bo.madvNext = null;
        }

        int listLength() {
            shrinkerLock.lock();
            try {
                int n = 0;
                for (Bo b = head; b != null; b = b.madvNext) {
                    n++;
                }
                return n;
            } finally {
                shrinkerLock.unlock();
            }
        }
    }

    /** The stored scatter/gather table ({@code shmem->sgt}). */
    static final class SgTable {
        final int[] pages;

        SgTable(int[] pages) {
            this.pages = pages;
        }
    }

    /** A drm_gem_shmem_object of the 5.x helper, with Panfrost's gpu_usecount. */
    static final class Bo {
        final Device dev;
        final int pageCount;
        final ReentrantLock pagesLock = new ReentrantLock(); // shmem->pages_lock
        final ReentrantLock vmapLock = new ReentrantLock(); // shmem->vmap_lock
        int pagesUseCount; // guarded by pagesLock
        int vmapUseCount; // guarded by vmapLock (read racily by the shrinker, as in the kernel)
        int madv; // guarded by pagesLock (read racily by the shrinker, as in the kernel)
        int[] pages; // guarded by pagesLock
        SgTable sgt; // guarded by pagesLock
        int[] vaddr; // guarded by vmapLock
        volatile int gpuUsecount; // bo->gpu_usecount
        Bo madvPrev; // madv_list, guarded by dev.shrinkerLock
        Bo madvNext;

        Bo(Device dev, int pageCount) {
            this.dev = dev;
            this.pageCount = pageCount;
        }

        int[] getPages() {
            pagesLock.lock();
            try {
                getPagesLocked();
                return pages;
            } finally {
                pagesLock.unlock();
            }
        }

        private void getPagesLocked() {
            if (pagesUseCount++ > 0) {
                return;
            }
            try {
                pages = dev.pool.allocate(pageCount, "old-bo");
            } catch (RuntimeException e) {
                pagesUseCount = 0;
                throw e;
            }
        }

        void putPages() {
            pagesLock.lock();
            try {
                putPagesLocked();
            } finally {
                pagesLock.unlock();
            }
        }

        private void putPagesLocked() {
            if (pagesUseCount == 0) {
                throw new IllegalStateException("put_pages with pages_use_count == 0");
            }
            if (--pagesUseCount > 0) {
                return;
            }
            dev.pool.free(pages);
            pages = null;
        }

        /** drm_gem_shmem_pin (5.x): a page use. */
        void pin() {
            getPages();
        }

        void unpin() {
            putPages();
        }

        int[] vmap() {
            vmapLock.lock();
            try {
                if (vmapUseCount++ > 0) {
                    return vaddr;
                }
                try {
                    vaddr = getPages();
                } catch (RuntimeException e) {
                    vmapUseCount = 0;
                    throw e;
                }
                return vaddr;
            } finally {
                vmapLock.unlock();
            }
        }

        void vunmap() {
            vmapLock.lock();
            try {
                if (vmapUseCount == 0) {
                    throw new IllegalStateException("vunmap with vmap_use_count == 0");
                }
                if (--vmapUseCount > 0) {
                    return;
                }
                vaddr = null;
                putPages();
            } finally {
                vmapLock.unlock();
            }
        }

        /** drm_gem_shmem_get_pages_sgt: the stored table, created on first use with one page use of its own. */
        SgTable getPagesSgt() {
            pagesLock.lock();
            try {
                if (sgt == null) {
                    getPagesLocked();
                    sgt = new SgTable(pages);
                }
                return sgt;
            } finally {
                pagesLock.unlock();
            }
        }

        /** drm_gem_shmem_madvise. */
        boolean madvise(int m) {
            pagesLock.lock();
            try {
                if (madv >= 0) {
                    madv = m;
                }
                return madv >= 0;
            } finally {
                pagesLock.unlock();
            }
        }

        /** drm_gem_shmem_is_purgeable (no dma-buf in this model). */
        boolean isPurgeable() {
            return madv > 0 && vmapUseCount == 0 && sgt != null;
        }

        /** drm_gem_shmem_purge_locked: drop the sgt and its page use, PURGED for good. */
        void purgeLocked() {
            sgt = null;
            putPagesLocked();
            madv = PURGED;
        }

        /** drm_gem_shmem_free_object. */
        void freeObject() {
            pagesLock.lock();
            try {
                if (sgt != null) {
                    sgt = null;
                    putPagesLocked();
                }
            } finally {
                pagesLock.unlock();
            }
        }
    }

    /** panfrost_gem_shrinker_count / _scan, registered with gemshrink's registry so both are driven alike. */
    static final class OldShrinker implements Shrinker {
        private final Device dev;

        OldShrinker(Device dev) {
            this.dev = dev;
        }

        @Override
        public String name() {
            return "panfrost-old";
        }

        @Override
        public long count(ShrinkControl sc) {
            if (!dev.shrinkerLock.tryLock()) {
                return 0;
            }
            long count = 0;
            try {
                for (Bo b = dev.head; b != null; b = b.madvNext) {
                    if (b.isPurgeable()) {
                        count += b.pageCount;
                    }
                }
            } finally {
                dev.shrinkerLock.unlock();
            }
            return count;
        }

        @Override
        public long scan(ShrinkControl sc) {
            if (!dev.shrinkerLock.tryLock()) {
                return STOP;
            }
            long freed = 0;
            try {
                Bo b = dev.head;
                while (b != null) {
                    Bo next = b.madvNext; // list_for_each_entry_safe
                    if (freed >= sc.nrToScan()) {
                        break;
                    }
                    if (b.isPurgeable() && purge(b)) {
                        freed += b.pageCount;
                        dev.listDel(b);
                    }
                    b = next;
                }
            } finally {
                dev.shrinkerLock.unlock();
            }
            return freed;
        }

        /** panfrost_gem_purge: refuse while the GPU uses it; never block on the object's lock. */
        private static boolean purge(Bo b) {
            if (b.gpuUsecount != 0) {
                return false;
            }
            if (!b.pagesLock.tryLock()) {
                return false;
            }
            try {
                b.purgeLocked();
                return true;
            } finally {
                b.pagesLock.unlock();
            }
        }
    }
}
