"""A generated Vietnamese catalogue shaped like real CKAN package_search records.

Deterministic for a given seed and size: real provincial departments as publishers, titles and
descriptions with diacritics, several formats (including an empty one, as real portals have) and
licences (including none), tags and groups, and timestamps spread over several years.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

NAMESPACE = uuid.UUID("6f1c9f1e-3c1a-4c3e-9a51-0d3f5d2b7a10")

PUBLISHERS = [
    # Provincial departments named as they were before the 2025 merger and as they are since, so the
    # Vietnam page has both maps to show (catalog/vietnam.py), and two national bodies.
    ("so-tai-chinh-long-an", "Sở Tài chính tỉnh Long An", "Dữ liệu ngân sách và chi tiêu công của tỉnh."),
    ("so-y-te-tay-ninh", "Sở Y tế tỉnh Tây Ninh", "Cơ sở y tế, dịch bệnh và tiêm chủng."),
    ("ubnd-tinh-ha-giang", "UBND tỉnh Hà Giang", None),
    ("so-giao-thong-van-tai-hai-phong", "Sở Giao thông Vận tải thành phố Hải Phòng", "Giao thông và hạ tầng."),
    ("cuc-thong-ke-hai-duong", "Cục Thống kê tỉnh Hải Dương", "Số liệu thống kê kinh tế - xã hội và dân số."),
    ("so-giao-duc-va-dao-tao-nam-dinh", "Sở Giáo dục và Đào tạo tỉnh Nam Định", "Trường học, học sinh và kết quả thi."),
    ("so-tai-nguyen-va-moi-truong-ninh-binh", "Sở Tài nguyên và Môi trường tỉnh Ninh Bình", "Đất đai và môi trường."),
    ("so-ke-hoach-va-dau-tu-binh-duong", "Sở Kế hoạch và Đầu tư tỉnh Bình Dương", "Doanh nghiệp và đầu tư công."),
    ("so-xay-dung-tphcm", "Sở Xây dựng TP.HCM", "Quy hoạch xây dựng và giấy phép xây dựng."),
    ("so-tai-chinh-khanh-hoa", "Sở Tài chính tỉnh Khánh Hoà", "Ngân sách tỉnh."),
    ("da-nang-tourism", "Da Nang Department of Culture, Sports and Tourism", "Heritage sites and festivals."),
    ("tong-cuc-thong-ke", "Tổng cục Thống kê", "Số liệu thống kê quốc gia."),
    ("hoc-vien-chinh-tri-quoc-gia-ho-chi-minh", "Học viện Chính trị quốc gia Hồ Chí Minh", None),
]

TOPICS = [
    ("Dự toán ngân sách {year}", ["ngân sách", "tài chính"], "kinh-te-tai-chinh"),
    ("Chi tiêu công theo quý {year}", ["chi tiêu công", "tài chính"], "kinh-te-tai-chinh"),
    ("Danh sách tuyến xe buýt {year}", ["giao thông", "xe buýt"], "giao-thong"),
    ("Tai nạn giao thông theo tháng {year}", ["giao thông", "an toàn"], "giao-thong"),
    ("Danh sách cơ sở y tế {year}", ["y tế", "bệnh viện"], "y-te"),
    ("Số ca mắc sốt xuất huyết {year}", ["y tế", "dịch bệnh"], "y-te"),
    ("Danh sách trường học {year}", ["giáo dục", "trường học"], "giao-duc"),
    ("Kết quả thi tốt nghiệp THPT {year}", ["giáo dục", "thi cử"], "giao-duc"),
    ("Bảng giá đất {year}", ["đất đai", "giá đất"], "tai-nguyen-moi-truong"),
    ("Quan trắc chất lượng không khí {year}", ["môi trường", "không khí"], "tai-nguyen-moi-truong"),
    ("Dân số trung bình theo huyện {year}", ["dân số", "thống kê"], "dan-so"),
    ("Niên giám thống kê {year}", ["thống kê"], "dan-so"),
    ("Danh sách doanh nghiệp đăng ký mới {year}", ["doanh nghiệp"], "kinh-te-tai-chinh"),
    ("Kế hoạch lựa chọn nhà thầu {year}", ["đấu thầu", "mua sắm công"], "kinh-te-tai-chinh"),
    ("Bản đồ ranh giới hành chính {year}", ["bản đồ", "ranh giới"], "ban-do"),
    ("Danh sách di tích lịch sử - văn hóa {year}", ["văn hóa", "du lịch"], "van-hoa-du-lich"),
]

GROUPS = {
    "kinh-te-tai-chinh": "Kinh tế - Tài chính",
    "giao-thong": "Giao thông",
    "y-te": "Y tế",
    "giao-duc": "Giáo dục",
    "tai-nguyen-moi-truong": "Tài nguyên - Môi trường",
    "dan-so": "Dân số - Thống kê",
    "ban-do": "Bản đồ",
    "van-hoa-du-lich": "Văn hóa - Du lịch",
}

# (format, mimetype, file extension); "" is a real-world empty format.
SAMPLE_FORMATS = [
    ("CSV", "text/csv", "csv"),
    ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("JSON", "application/json", "json"),
    ("PDF", "application/pdf", "pdf"),
    ("SHP", "application/zip", "zip"),
    ("GeoJSON", "application/geo+json", "geojson"),
    ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("", None, "dat"),
]
FORMAT_WEIGHTS = [30, 20, 10, 15, 5, 5, 10, 5]

LICENSES = [
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    ("cc-by-sa", "Creative Commons Attribution Share-Alike", "http://www.opendefinition.org/licenses/cc-by-sa"),
    ("odc-by", "Open Data Commons Attribution License", "http://www.opendefinition.org/licenses/odc-by"),
    ("other-closed", "Other (Not Open)", None),
    ("notspecified", "License not specified", None),
    (None, None, None),
]
LICENSE_WEIGHTS = [35, 10, 10, 10, 20, 15]

START = datetime(2018, 1, 1, tzinfo=UTC)


def slugify(text: str) -> str:
    """ASCII slug of Vietnamese text: diacritics removed (đ -> d), words joined by hyphens."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(c.lower() if c.isalnum() else " " for c in ascii_text).split()
    return "-".join(words)


def organization(slug: str, title: str, description: str | None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"org:{slug}")),
        "name": slug,
        "title": title,
        "description": description or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "image_url": "",
        "created": "2017-06-01T08:00:00.000000",
        "approval_status": "approved",
    }


def generate(
    size: int, seed: int = 2026, base_url: str = "http://127.0.0.1:8765"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`size` packages and the organisations that publish them."""
    rng = random.Random(seed)
    organizations = [organization(*publisher) for publisher in PUBLISHERS]
    packages = []
    for index in range(size):
        topic, tags, group = TOPICS[index % len(TOPICS)]
        year = 2018 + (index // len(TOPICS)) % 8
        title = topic.format(year=year)
        if index >= len(TOPICS) * 8:
            title = f"{title} (bản {index // (len(TOPICS) * 8) + 1})"
        org = organizations[rng.randrange(len(organizations))]
        created = START + timedelta(minutes=index * 37 + rng.randrange(30))
        modified = created + timedelta(days=rng.randrange(0, 900))
        license_id, license_title, license_url = rng.choices(LICENSES, LICENSE_WEIGHTS)[0]
        package_id = str(uuid.uuid5(NAMESPACE, f"dataset:{seed}:{index}"))
        name = f"{slugify(title)}-{index}"
        resources = []
        for position in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
            fmt, mimetype, extension = rng.choices(SAMPLE_FORMATS, FORMAT_WEIGHTS)[0]
            resource_id = str(uuid.uuid5(NAMESPACE, f"resource:{package_id}:{position}"))
            resources.append(
                {
                    "id": resource_id,
                    "package_id": package_id,
                    "name": f"{title} - tệp {position + 1} ",
                    "description": "",
                    "format": fmt,
                    "mimetype": mimetype,
                    "url": f"{base_url}/dataset/{package_id}/resource/{resource_id}/download/du-lieu.{extension}",
                    "url_type": "upload" if position % 2 == 0 else None,
                    "size": rng.randrange(1_000, 5_000_000) if rng.random() < 0.7 else None,
                    "hash": "",
                    "created": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                    "last_modified": modified.strftime("%Y-%m-%dT%H:%M:%S.%f") if rng.random() < 0.5 else None,
                    "position": position,
                    "state": "active",
                }
            )
        packages.append(
            {
                "id": package_id,
                "name": name,
                "title": title,
                "notes": f"Dữ liệu **{title.lower()}** do {org['title']} công bố.\n\nCập nhật định kỳ.",
                "type": "dataset",
                "state": "active",
                "private": False,
                "metadata_created": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "metadata_modified": modified.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "owner_org": org["id"],
                "organization": org,
                "license_id": license_id,
                "license_title": license_title,
                "license_url": license_url,
                "maintainer": org["title"],
                "maintainer_email": f"{org['name']}@example.gov.vn",
                "author": None,
                "author_email": None,
                "url": "",
                "version": "1.0",
                "tags": [{"name": tag, "display_name": tag, "state": "active"} for tag in tags],
                "groups": [{"name": group, "title": GROUPS[group], "display_name": GROUPS[group]}],
                "extras": [{"key": "frequency", "value": rng.choice(["hằng năm", "hằng quý", "hằng tháng"])}],
                "resources": resources,
                "num_resources": len(resources),
                "num_tags": len(tags),
            }
        )
    return packages, organizations
