-- Metadata quality per portal: average points per MQA dimension and ODPW share, and the ratings' spread.
CREATE OR REPLACE VIEW quality_by_portal AS
SELECT
    portal_id,
    count(*) AS datasets,
    round(avg(points), 1) AS avg_points,
    round(avg(findability), 1) AS findability,
    round(avg(accessibility), 1) AS accessibility,
    round(avg(interoperability), 1) AS interoperability,
    round(avg(reusability), 1) AS reusability,
    round(avg(contextuality), 1) AS contextuality,
    round(avg(existence), 3) AS existence,
    round(avg(conformance), 3) AS conformance,
    round(avg(openness), 3) AS openness,
    count(*) FILTER (WHERE rating = 'excellent') AS excellent,
    count(*) FILTER (WHERE rating = 'good') AS good,
    count(*) FILTER (WHERE rating = 'sufficient') AS sufficient,
    count(*) FILTER (WHERE rating = 'bad') AS bad
FROM dataset_quality
GROUP BY portal_id
ORDER BY avg_points DESC, portal_id;
