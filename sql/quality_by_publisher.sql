-- Metadata quality per portal and publisher: who documents their data well, and who does not.
CREATE OR REPLACE VIEW quality_by_publisher AS
SELECT
    portal_id,
    publisher_id,
    coalesce(any_value(publisher_name), '(no publisher)') AS publisher_name,
    count(*) AS datasets,
    round(avg(points), 1) AS avg_points,
    round(avg(findability), 1) AS findability,
    round(avg(accessibility), 1) AS accessibility,
    round(avg(interoperability), 1) AS interoperability,
    round(avg(reusability), 1) AS reusability,
    round(avg(contextuality), 1) AS contextuality,
    round(avg(existence), 3) AS existence,
    round(avg(conformance), 3) AS conformance,
    round(avg(openness), 3) AS openness
FROM dataset_quality
GROUP BY portal_id, publisher_id
ORDER BY portal_id, avg_points DESC, publisher_name;
