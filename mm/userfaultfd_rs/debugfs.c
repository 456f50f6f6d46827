// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs probe of the Rust page-table abstractions, for the selftests:
 * /sys/kernel/debug/userfaultfd_rs/pte.  Write an address of the calling
 * process (as text, any base kstrtoul() takes) at offset 0, then read from
 * offset 0 what its PTE holds: "none", "present", "swap",
 * "marker 0x<bits>", "no-table" (no PTE table covers it) or "error <errno>".
 * The lookup runs in Rust (userfaultfd_rs_probe_pte()) with the same locks
 * as the fault path: the per-VMA lock, or the mmap lock as fallback.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/userfaultfd_rs.h>

struct uffd_rs_probe {
	char buf[32];
	size_t len;
};

static int uffd_rs_probe_open(struct inode *inode, struct file *file)
{
	struct uffd_rs_probe *p = kzalloc(sizeof(*p), GFP_KERNEL);

	file->private_data = p;
	return p ? 0 : -ENOMEM;
}

static int uffd_rs_probe_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t uffd_rs_probe_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct uffd_rs_probe *p = file->private_data;
	unsigned long addr;
	long ret;
	int err;

	err = kstrtoul_from_user(ubuf, count, 0, &addr);
	if (err)
		return err;
	ret = userfaultfd_rs_probe_pte(addr);
	if (ret < 0)
		p->len = scnprintf(p->buf, sizeof(p->buf), "error %ld\n", -ret);
	else if ((ret & 0xff) == UFFD_RS_PROBE_NONE)
		p->len = scnprintf(p->buf, sizeof(p->buf), "none\n");
	else if ((ret & 0xff) == UFFD_RS_PROBE_PRESENT)
		p->len = scnprintf(p->buf, sizeof(p->buf), "present\n");
	else if ((ret & 0xff) == UFFD_RS_PROBE_SWAP)
		p->len = scnprintf(p->buf, sizeof(p->buf), "swap\n");
	else if ((ret & 0xff) == UFFD_RS_PROBE_MARKER)
		p->len = scnprintf(p->buf, sizeof(p->buf), "marker 0x%lx\n", ret >> 8);
	else
		p->len = scnprintf(p->buf, sizeof(p->buf), "no-table\n");
	return count;
}

static ssize_t uffd_rs_probe_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct uffd_rs_probe *p = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, p->buf, p->len);
}

static const struct file_operations uffd_rs_probe_fops = {
	.owner		= THIS_MODULE,
	.open		= uffd_rs_probe_open,
	.release	= uffd_rs_probe_release,
	.read		= uffd_rs_probe_read,
	.write		= uffd_rs_probe_write,
	.llseek		= default_llseek,
};

static int __init uffd_rs_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("userfaultfd_rs", NULL);

	debugfs_create_file("pte", 0600, dir, NULL, &uffd_rs_probe_fops);
	return 0;
}
late_initcall(uffd_rs_debugfs_init);
